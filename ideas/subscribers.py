"""How ideas react to other domains' events."""

from community import events

from . import services


def on_member_updated(member, changed=frozenset(), **_):
    """New customer value or segment from the CRM or an admin: the value-weighted
    demand of every idea the member voted for moves with it."""
    if {"customer_value", "segment"} & set(changed):
        services.refresh_demand_of_voter(member)


def connect_subscribers() -> None:
    events.member_updated.connect(on_member_updated)
