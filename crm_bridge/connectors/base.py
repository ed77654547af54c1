"""The one interface every CRM connector implements.

The outbox worker hands a connector batches of `Delivery` (one per outbox row, in
order per contact) and gets one `Outcome` per delivery back, in the same order. A
connector never touches the database: it speaks to its CRM and reports. Pulling
(customer attributes, case statuses) goes the other way through `pull()`.

Delivery kinds and their `data` (documented for operators in docs/crm.md):

- ``contact``: the member's community figures, coalesced per contact
  (reputation, rank, social_value, deflected_cases, engagement_level, last_active).
- ``activity``: one contribution or signal on the contact's timeline
  (type such as question_asked, answer_accepted, kudos_received, idea_voted,
  case_deflected, advisory_joined; title; url; at).
- ``case``: a support case escalated from the community (reference, subject,
  description, thread_url, email).
- ``lead`` / ``task``: a sales lead or a follow-up task (subject, description, url).
- ``account_activity``: a note on an account (idea status changes reported back to
  every account whose members voted: idea_title, status, note, url).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, Literal

DELIVERY_KINDS = ("contact", "activity", "case", "lead", "task", "account_activity")


@dataclass(frozen=True)
class ContactRef:
    """Who a delivery is about, as far as the bridge knows them."""

    member_id: int | None
    email: str | None
    external_id: str | None = None  # the CRM's id for the contact, once linked
    account: str | None = None  # the account name or external id


@dataclass(frozen=True)
class Delivery:
    """One outbox row. `id` is stable across retries: connectors send it as the
    idempotency key or external id so that a retry never creates a duplicate."""

    id: str
    kind: str
    contact: ContactRef | None
    data: Mapping
    occurred_at: datetime
    attempt: int = 1


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery."""

    status: Literal["delivered", "retry", "rejected"]
    external_id: str | None = None  # the CRM's id of what was created or updated
    error: str | None = None
    retry_after: float | None = None  # seconds the CRM asked us to wait, if it said

    @classmethod
    def delivered(cls, external_id: str | None = None) -> Outcome:
        return cls("delivered", external_id=external_id)

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> Outcome:
        """A temporary failure (5xx, rate limit, network): try again later."""
        return cls("retry", error=error, retry_after=retry_after)

    @classmethod
    def rejected(cls, error: str) -> Outcome:
        """The CRM refused the content itself (a 400 for a bad field): dead letter."""
        return cls("rejected", error=error)


@dataclass(frozen=True)
class ContactAttributes:
    """Customer facts pulled from the CRM for one contact."""

    email: str | None
    external_id: str | None = None
    segment: str | None = None
    tier: str | None = None
    customer_value: Decimal | None = None
    account_name: str | None = None
    renewal_on: date | None = None
    fields: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class CaseStatus:
    """A case's state in the CRM, keyed by Parley's case reference."""

    reference: str
    status: str  # open, pending, closed
    resolution: str | None = None


@dataclass(frozen=True)
class Pulled:
    contacts: Sequence[ContactAttributes] = ()
    cases: Sequence[CaseStatus] = ()


class Connector(ABC):
    """A CRM the bridge delivers to. Built from app config by `from_config`."""

    name: ClassVar[str]
    #: The largest batch `deliver` accepts (Salesforce composite collections: 200).
    batch_size: ClassVar[int] = 100

    @classmethod
    @abstractmethod
    def from_config(cls, config: Mapping) -> Connector:
        """Build the connector from the app's config; raise ValueError naming a missing setting."""

    @abstractmethod
    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """Deliver a batch (at most `batch_size`); one Outcome per delivery, same order.
        Must be idempotent per `Delivery.id`."""

    def pull(self, case_references: Sequence[str] = ()) -> Pulled:
        """Attribute changes since the last pull and the status of the given cases."""
        return Pulled()

    def close(self) -> None:  # noqa: B027 - most connectors hold nothing to release
        """Release connections."""
