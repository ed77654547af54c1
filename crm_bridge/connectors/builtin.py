"""The built-in connector: writes into Parley's own customer records (crm_* tables).

Unlike the others it speaks to the database, inside the worker's transaction: the
outbox rows are marked delivered in the same commit as the records they wrote, and
the delivery id is the primary key of what it records, so a replay changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import insert, select

from community.extensions import db
from community.models import utcnow

from ..models import Account, Activity, Case, Contact
from .base import DELIVERY_KINDS, CaseStatus, Connector, Delivery, Outcome, Pulled

CONTACT_KINDS = {"contact", "activity", "case", "lead", "task"}


def _text(value, limit: int) -> str:
    return str(value if value is not None else "")[:limit]


class BuiltinConnector(Connector):
    name = "builtin"
    batch_size = 500

    @classmethod
    def from_config(cls, config: Mapping) -> BuiltinConnector:
        return cls()

    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        if not deliveries:
            return []
        ids = [d.id for d in deliveries]
        seen = set(
            db.session.scalars(select(Activity.delivery_id).where(Activity.delivery_id.in_(ids)))
        )
        contacts = self._contacts(deliveries)
        accounts = self._accounts(deliveries)
        now = utcnow()
        rows, outcomes = [], []
        for d in deliveries:
            if d.kind not in DELIVERY_KINDS:
                outcomes.append(Outcome.rejected(f"unknown kind {d.kind!r}"))
                continue
            contact = contacts.get(self._contact_key(d)) if d.kind in CONTACT_KINDS else None
            account = None
            if d.kind == "account_activity" and d.contact and d.contact.account:
                account = accounts.get(_text(d.contact.account, 120).strip().lower())
            if d.kind in CONTACT_KINDS and contact is None:
                outcomes.append(Outcome.rejected("no contact: the delivery names no e-mail"))
                continue
            if d.kind == "account_activity" and account is None:
                outcomes.append(Outcome.rejected("no account named"))
                continue
            if d.id in seen:  # a replay: recorded already
                outcomes.append(Outcome.delivered(str(contact.id if contact else account.id)))
                continue
            seen.add(d.id)
            data = dict(d.data)
            if d.kind == "contact":
                contact.community = {**(contact.community or {}), **data}
                contact.updated_at = now
            elif d.kind == "case":
                self._case(data, contact)
            rows.append(
                {
                    "delivery_id": d.id,
                    "kind": d.kind,
                    "type": _text(data.get("type") or d.kind, 40),
                    "contact_id": contact.id if contact else None,
                    "account_id": account.id if account else getattr(contact, "account_id", None),
                    "title": _text(data.get("title") or data.get("subject"), 300),
                    "url": _text(data.get("url") or data.get("thread_url"), 500) or None,
                    "data": data,
                    "occurred_at": d.occurred_at,
                    "received_at": now,
                }
            )  # fmt: skip
            outcomes.append(Outcome.delivered(str(contact.id if contact else account.id)))
        if rows:
            db.session.execute(insert(Activity), rows)
        return outcomes

    @staticmethod
    def _contact_key(d: Delivery) -> str | None:
        if d.contact is None:
            return None
        if d.contact.external_id:
            return "id:" + d.contact.external_id
        return "email:" + (d.contact.email or "").strip().lower() if d.contact.email else None

    def _contacts(self, deliveries) -> dict:
        """The contacts the deliveries name, created by e-mail when new."""
        wanted_ids, wanted_emails = set(), {}
        for d in deliveries:
            if d.kind not in CONTACT_KINDS or d.contact is None:
                continue
            if d.contact.external_id and d.contact.external_id.isdigit():
                wanted_ids.add(int(d.contact.external_id))
            elif d.contact.email:
                wanted_emails[d.contact.email.strip().lower()[:254]] = d
        found: dict = {}
        if wanted_ids:
            for c in db.session.scalars(select(Contact).where(Contact.id.in_(wanted_ids))):
                found["id:" + str(c.id)] = c
        if wanted_emails:
            for c in db.session.scalars(
                select(Contact).where(Contact.email_key.in_(wanted_emails))
            ):
                found["email:" + c.email_key] = c
            new = []
            for key, d in wanted_emails.items():
                if "email:" + key not in found:
                    contact = Contact(
                        email=d.contact.email.strip()[:254], email_key=key,
                        name=_text(d.data.get("name"), 120), custom_fields={}, external_ids={},
                        community={},
                    )  # fmt: skip
                    db.session.add(contact)
                    new.append(contact)
                    found["email:" + key] = contact
            if new:
                db.session.flush()
        return found

    def _accounts(self, deliveries) -> dict:
        names = {
            _text(d.contact.account, 120).strip(): d
            for d in deliveries
            if d.kind == "account_activity" and d.contact and d.contact.account
        }
        if not names:
            return {}
        keys = {name.lower(): name for name in names if name}
        found = {
            a.name_key: a
            for a in db.session.scalars(select(Account).where(Account.name_key.in_(keys)))
        }
        for key, name in keys.items():
            if key not in found:
                account = Account(name=name, name_key=key, custom_fields={}, external_ids={})
                db.session.add(account)
                found[key] = account
        db.session.flush()
        return found

    @staticmethod
    def _case(data: dict, contact: Contact) -> None:
        reference = _text(data.get("reference"), 20)
        if not reference:
            return
        case = db.session.scalar(
            select(Case).where(Case.reference == reference, Case.connector == "builtin")
        )
        if case is None:
            db.session.add(
                Case(reference=reference, connector="builtin", contact_id=contact.id,
                     external_id=f"builtin-{reference}", status="open")
            )  # fmt: skip

    def pull(self, case_references: Sequence[str] = ()) -> Pulled:
        """Contacts edited in the built-in CRM reach members at once (services), so
        only the status of the cases staff handle here comes back."""
        if not case_references:
            return Pulled()
        cases = db.session.scalars(
            select(Case).where(
                Case.connector == "builtin", Case.reference.in_(list(case_references))
            )
        )
        return Pulled(cases=[CaseStatus(c.reference, c.status, c.resolution) for c in cases])
