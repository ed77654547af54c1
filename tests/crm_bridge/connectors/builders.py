"""Deliveries as the outbox worker builds them."""

from __future__ import annotations

from datetime import UTC, datetime

from crm_bridge.connectors.base import ContactRef, Delivery


def member(number: int, email: str | None = None, **more) -> ContactRef:
    return ContactRef(member_id=number, email=email or f"member{number}@example.com", **more)


def delivery(id: str, kind: str, contact: ContactRef | None, **data) -> Delivery:
    return Delivery(
        id=id,
        kind=kind,
        contact=contact,
        data=data,
        occurred_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
    )
