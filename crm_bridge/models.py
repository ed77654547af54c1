"""CRM bridge data: the built-in CRM (accounts, contacts, cases, activities), the
links between members and contacts, and the outbox that carries community events
to every configured CRM. Rules live in services.py and outbox.py."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import db
from community.models import Member, SupportCase, utcnow

OUTBOX_STATUSES = ("pending", "delivered", "dead")
LINK_METHODS = ("email", "sso", "manual", "import")


class Account(db.Model):
    """A customer company in the built-in CRM."""

    __tablename__ = "crm_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # Lower-cased name: one account per name whatever its case.
    name_key: Mapped[str] = mapped_column(String(120), unique=True)
    segment: Mapped[str | None] = mapped_column(String(60))
    tier: Mapped[str | None] = mapped_column(String(40))
    owner: Mapped[str | None] = mapped_column(String(120))
    customer_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    external_ids: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Contact(db.Model):
    """A person in the built-in CRM, with the customer facts the community reads and
    the community figures the bridge writes (`community`)."""

    __tablename__ = "crm_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_account.id", ondelete="SET NULL"), index=True
    )
    segment: Mapped[str | None] = mapped_column(String(60))
    tier: Mapped[str | None] = mapped_column(String(40))
    owner: Mapped[str | None] = mapped_column(String(120))
    customer_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    renewal_on: Mapped[date | None] = mapped_column(Date)
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    # The single sign-on subject, when the identity provider tells us one.
    sso_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    # {connector name: the contact's id in that CRM}
    external_ids: Mapped[dict] = mapped_column(JSON, default=dict)
    # The community figures as last delivered by the built-in connector.
    community: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    account: Mapped[Account | None] = relationship(lazy="joined")
    link: Mapped[MemberLink | None] = relationship(back_populates="contact", uselist=False)


class MemberLink(db.Model):
    """A member is this contact. One member per contact and one contact per member."""

    __tablename__ = "crm_member_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), unique=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("crm_contact.id", ondelete="CASCADE"), unique=True
    )
    method: Mapped[str] = mapped_column(String(10))
    linked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    linked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL")
    )

    member: Mapped[Member] = relationship(foreign_keys=[member_id], lazy="joined")
    contact: Mapped[Contact] = relationship(back_populates="link", lazy="joined")


class LinkChange(db.Model):
    """The audit trail of links: who linked, unlinked or relinked whom, and why."""

    __tablename__ = "crm_link_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contact.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(10))  # linked, unlinked, relinked
    method: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    member: Mapped[Member | None] = relationship(foreign_keys=[member_id], lazy="joined")
    contact: Mapped[Contact | None] = relationship(lazy="joined")
    by: Mapped[Member | None] = relationship(foreign_keys=[by_id], lazy="joined")


class LinkConflict(db.Model):
    """A second member claimed a contact that is already linked: an admin decides."""

    __tablename__ = "crm_link_conflict"
    __table_args__ = (UniqueConstraint("member_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("community_member.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("crm_contact.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)

    member: Mapped[Member] = relationship(lazy="joined")
    contact: Mapped[Contact] = relationship(lazy="joined")


class OutboxItem(db.Model):
    """One event for one CRM, written in the transaction that caused it and
    delivered at least once by the worker, in order per contact."""

    __tablename__ = "crm_outbox"
    __table_args__ = (
        UniqueConstraint("event_id", "connector"),
        Index("ix_crm_outbox_due", "status", "connector", "next_attempt_at"),
        Index("ix_crm_outbox_contact", "connector", "contact_key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable across retries: the idempotency key / external id at the CRM.
    event_id: Mapped[str] = mapped_column(String(64))
    connector: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    # Ordering and coalescing key: "m:<member id>", "e:<email>" or "a:<account>".
    contact_key: Mapped[str] = mapped_column(String(300))
    member_id: Mapped[int | None] = mapped_column(Integer)
    email: Mapped[str | None] = mapped_column(String(254))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A worker's claim: other workers leave the row (and the contact's later rows) alone.
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class Activity(db.Model):
    """What the built-in connector received: one row per delivery id, so a replayed
    delivery changes nothing (the built-in CRM's idempotency record)."""

    __tablename__ = "crm_activity"
    __table_args__ = (Index("ix_crm_activity_contact", "contact_id", "occurred_at"),)

    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(40), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("crm_contact.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_account.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Case(db.Model):
    """A support case as a CRM knows it: its id there, status and resolution,
    pulled back and shown on the thread."""

    __tablename__ = "crm_case"
    __table_args__ = (UniqueConstraint("reference", "connector"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), index=True)
    connector: Mapped[str] = mapped_column(String(20))
    support_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_support_case.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contact.id", ondelete="SET NULL"), index=True
    )
    external_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")
    resolution: Mapped[str | None] = mapped_column(Text)
    published_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_post.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    support_case: Mapped[SupportCase | None] = relationship(lazy="joined")
    contact: Mapped[Contact | None] = relationship()


class State(db.Model):
    """Small named facts of the bridge: the SQLite worker lease, pull cursors."""

    __tablename__ = "crm_state"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(80))
    until: Mapped[datetime | None] = mapped_column(DateTime)
    value: Mapped[dict] = mapped_column(JSON, default=dict)


class InboundEvent(db.Model):
    """Ids of signed webhooks received from a CRM: a replayed one changes nothing."""

    __tablename__ = "crm_inbound_event"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
