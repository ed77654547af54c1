"""Advisory reactions to community events (connected by the app factory)."""

from __future__ import annotations

from community import events

from . import services


def on_space_created(space, by=None, **_):
    """An advisory space gets its committee and its private suggestions board,
    created with the space (the admin who created it is its first host)."""
    if space.kind != "advisory" or by is None:
        return
    services.set_up_committee(space, by)


def connect_subscribers() -> None:
    events.space_created.connect(on_space_created)
