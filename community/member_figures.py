"""Figures about members that one domain computes and another shows.

Reputation knows a member's social value, engagement level, reputation and rank;
the CRM bridge pushes them to the customer's record. The top domains may not
import each other, so the figures meet here, the way search documents meet in
``community.search.register_type``:

    member_figures.register(provider)     # at start-up, from connect_subscribers()
    member_figures.figures_for(ids)       # {member_id: {field: value, ...}, ...}

A **provider** is ``fn(member_ids) -> {member_id: {field: value}}``:

- batched: it answers for all the ids with a few SQL-grouped queries, never one
  query per member (the CRM worker asks for hundreds at a time);
- read-only, and safe outside a request (the worker calls it in its own app
  context);
- JSON-ready values (int, float, str, None), since they travel to CRMs and into
  outbox rows. Money is a float rounded to cents, as the JSON API shows it;
- it may leave a member out (then that member simply lacks those fields).

Field names are the provider's domain's to choose and must not collide with
another provider's; if they do, the provider registered later wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

Provider = Callable[[list[int]], Mapping[int, Mapping[str, object]]]

PROVIDERS: list[Provider] = []


def register(provider: Provider) -> None:
    """Add a provider (once: apps are created many times in one process)."""
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)


def figures_for(member_ids: Iterable[int]) -> dict[int, dict]:
    """Every provider's figures for the members, merged; every id gets a dict."""
    ids = sorted({int(m) for m in member_ids if m is not None})
    result: dict[int, dict] = {member_id: {} for member_id in ids}
    if not ids:
        return result
    for provider in PROVIDERS:
        for member_id, fields in provider(ids).items():
            if member_id in result:
                result[member_id].update(fields)
    return result
