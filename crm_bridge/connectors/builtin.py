"""The built-in connector: writes into Parley's own customer records (crm_* tables).

Unlike the others it speaks to the database, inside the worker's transaction: the
outbox rows are marked delivered in the same commit as the records they wrote, and
the delivery id is the primary key of what it records, so a replay changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from sqlalchemy import bindparam, insert, select, update

from community.extensions import db
from community.models import utcnow

from ..models import Account, Activity, Case, Contact
from .base import DELIVERY_KINDS, CaseStatus, Connector, Delivery, Outcome, Pulled

CONTACT_KINDS = {"contact", "activity", "case", "lead", "task"}


class Ref(NamedTuple):
    id: int
    account_id: int | None


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
        rows, outcomes, figures = [], [], {}
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
            target = str(contact.id if contact else account.id)
            if d.id in seen:  # a replay: recorded already
                outcomes.append(Outcome.delivered(target))
                continue
            seen.add(d.id)
            data = dict(d.data)
            if d.kind == "contact":
                figures.setdefault(contact.id, {}).update(data)
            elif d.kind == "case":
                self._case(data, contact.id)
            rows.append(
                {
                    "delivery_id": d.id,
                    "kind": d.kind,
                    "type": _text(data.get("type") or d.kind, 40),
                    "contact_id": contact.id if contact else None,
                    "account_id": account.id if account else contact.account_id,
                    "title": _text(data.get("title") or data.get("subject"), 300),
                    "url": _text(data.get("url") or data.get("thread_url"), 500) or None,
                    "data": data,
                    "occurred_at": d.occurred_at,
                    "received_at": now,
                }
            )
            outcomes.append(Outcome.delivered(target))
        if rows:
            db.session.execute(insert(Activity.__table__), rows)  # Core: no ORM bookkeeping
        if figures:
            self._merge_figures(figures, now)
        return outcomes

    @staticmethod
    def _merge_figures(figures: dict, now) -> None:
        """The community figures onto the contacts, merged with what they had."""
        table = Contact.__table__
        current = dict(
            db.session.execute(
                select(table.c.id, table.c.community).where(table.c.id.in_(figures))
            ).all()
        )
        db.session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(
                community=bindparam("b_community"), updated_at=now),
            [{"b_id": cid, "b_community": {**(current.get(cid) or {}), **data}}
             for cid, data in figures.items()],
        )  # fmt: skip

    @staticmethod
    def _contact_key(d: Delivery) -> str | None:
        if d.contact is None:
            return None
        if d.contact.external_id:
            return "id:" + d.contact.external_id
        return "email:" + (d.contact.email or "").strip().lower() if d.contact.email else None

    def _contacts(self, deliveries) -> dict[str, Ref]:
        """The contacts the deliveries name (id and account only), created by e-mail
        when new."""
        wanted_ids, wanted_emails = set(), {}
        for d in deliveries:
            if d.kind not in CONTACT_KINDS or d.contact is None:
                continue
            if d.contact.external_id and d.contact.external_id.isdigit():
                wanted_ids.add(int(d.contact.external_id))
            elif d.contact.email:
                wanted_emails[d.contact.email.strip().lower()[:254]] = d
        found: dict[str, Ref] = {}
        columns = (Contact.id, Contact.account_id, Contact.email_key)
        if wanted_ids:
            for cid, account_id, _email in db.session.execute(
                select(*columns).where(Contact.id.in_(wanted_ids))
            ):
                found["id:" + str(cid)] = Ref(cid, account_id)
        if wanted_emails:
            for cid, account_id, email in db.session.execute(
                select(*columns).where(Contact.email_key.in_(wanted_emails))
            ):
                found["email:" + email] = Ref(cid, account_id)
            new = []
            for key, d in wanted_emails.items():
                if "email:" + key not in found:
                    contact = Contact(
                        email=d.contact.email.strip()[:254], email_key=key,
                        name=_text(d.data.get("name"), 120), custom_fields={}, external_ids={},
                        community={},
                    )  # fmt: skip
                    db.session.add(contact)
                    new.append((key, contact))
            if new:
                db.session.flush()
                for key, contact in new:
                    found["email:" + key] = Ref(contact.id, None)
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
    def _case(data: dict, contact_id: int) -> None:
        reference = _text(data.get("reference"), 20)
        if not reference:
            return
        case = db.session.scalar(
            select(Case).where(Case.reference == reference, Case.connector == "builtin")
        )
        if case is None:
            db.session.add(
                Case(reference=reference, connector="builtin", contact_id=contact_id,
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
