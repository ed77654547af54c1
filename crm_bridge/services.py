"""CRM bridge use cases: identity links, the built-in CRM's records, pulled
customer attributes and case statuses, the customer 360 view and the knowledge loop.

Like community/services.py: validate, load, ask the access policy, write in one
transaction, commit, then send events. Member facts are only ever changed through
community.services.set_customer_attributes.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_request_context, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from community import access, events, member_figures
from community import help as community_help
from community import services as community
from community.errors import Conflict, Invalid, NotAllowed, NotFound, Unauthorized
from community.extensions import db
from community.models import (
    Deflection,
    Kudos,
    Member,
    Post,
    Space,
    SpaceMembership,
    SupportCase,
    Thread,
    utcnow,
)
from ideas.models import Idea, Vote

from . import connectors, outbox
from .connectors.base import CaseStatus, ContactAttributes, Pulled
from .models import (
    Account,
    Activity,
    Case,
    Contact,
    InboundEvent,
    LinkChange,
    LinkConflict,
    MemberLink,
)

CASE_STATUS_MAP = {
    "new": "open",
    "open": "open",
    "pending": "pending",
    "waiting": "pending",
    "on_hold": "pending",
    "solved": "solved",
    "resolved": "solved",
    "closed": "closed",
}
CLOSED = {"solved", "closed"}
REASON_MAX = 500
IMPORT_ROWS_MAX = 5000
IMPORT_COLUMNS = {
    "email", "name", "account", "segment", "tier", "owner", "customer_value", "renewal_on",
    "sso_id", "account_segment", "account_tier", "account_owner", "account_value",
}  # fmt: skip
FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")


def _require_admin(by) -> None:
    access.require(access.can_manage_spaces(by), message="Only admins manage CRM links.")


def _require_staff(by) -> None:
    access.require(access.can_view_support_analytics(by), hide=True)


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict("That conflicts with a change made at the same time; try again.") from error


def external_url(endpoint: str, **values) -> str:
    """An absolute link for a CRM record, also from the CLI and workers."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context():
        return url_for(endpoint, _external=True, **values)


# ---- identity ---------------------------------------------------------------------


def link_of(member) -> MemberLink | None:
    if member is None or getattr(member, "id", None) is None:
        return None
    return db.session.scalar(select(MemberLink).where(MemberLink.member_id == member.id))


def get_contact(contact_id) -> Contact:
    contact = community.row_by_id(Contact, contact_id)
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def _record_link(member, contact, action, method, by, reason) -> None:
    db.session.add(
        LinkChange(
            member_id=member.id, contact_id=contact.id, action=action, method=method,
            reason=reason, by_id=by.id if by else None,
        )
    )  # fmt: skip


def _conflict(member: Member, contact: Contact, method: str) -> LinkConflict:
    conflict = db.session.scalar(
        select(LinkConflict).where(
            LinkConflict.member_id == member.id, LinkConflict.contact_id == contact.id
        )
    )
    if conflict is None:
        conflict = LinkConflict(member_id=member.id, contact_id=contact.id, method=method)
        db.session.add(conflict)
    conflict.resolved_at = None
    return conflict


def auto_link(member: Member, *, sso_id: str | None = None) -> MemberLink | None:
    """Link a member to the contact with their (registered, hence verified) e-mail
    or their single sign-on subject. A contact someone else holds goes to the
    admins' conflict list instead; nothing is taken silently."""
    if member is None or link_of(member) is not None:
        return link_of(member)
    contact, method = None, "email"
    if sso_id:
        contact = db.session.scalar(select(Contact).where(Contact.sso_id == str(sso_id)[:200]))
        method = "sso"
    if contact is None:
        method = "email"
        contact = db.session.scalar(
            select(Contact).where(Contact.email_key == member.email.strip().lower())
        )
    if contact is None:
        return None
    if contact.link is not None:
        _conflict(member, contact, method)
        _commit()
        return None
    link = MemberLink(member_id=member.id, contact_id=contact.id, method=method)
    db.session.add(link)
    _record_link(member, contact, "linked", method, None, "")
    sent = events.record(
        events.crm_link_changed, member, contact_id=contact.id, action="linked",
        method=method, by=None, reason="",
    )  # fmt: skip
    try:
        db.session.commit()
    except IntegrityError:  # linked at the same moment by another process
        db.session.rollback()
        return link_of(member)
    sent()
    apply_contact_to_member(contact)
    return link


def link_by_delivery(member_id: int, contact_id: int) -> MemberLink | None:
    """The built-in connector matched the member's e-mail to a contact: link them
    inside the worker's transaction (the worker commits), or report a conflict."""
    member = db.session.get(Member, member_id)
    contact = db.session.get(Contact, contact_id)
    if member is None or contact is None or contact.email_key != member.email_key:
        return None
    holder = db.session.scalar(select(MemberLink).where(MemberLink.contact_id == contact_id))
    if holder is not None:
        if holder.member_id != member_id:
            _conflict(member, contact, "email")
        return holder if holder.member_id == member_id else None
    link = MemberLink(member_id=member_id, contact_id=contact_id, method="email")
    db.session.add(link)
    _record_link(member, contact, "linked", "email", None, "matched on delivery")
    db.session.flush()
    return link


def _reason(reason, errors) -> str:
    return community.checked_text(reason, "reason", errors, minimum=3, maximum=REASON_MAX)


def link_member(member: Member, contact: Contact, *, by: Member, reason) -> MemberLink:
    """An admin links (or relinks) a member to a contact, with a reason for the trail."""
    _require_admin(by)
    errors: dict = {}
    reason = _reason(reason, errors)
    community.raise_if_invalid(errors)
    holder = contact.link
    if holder is not None and holder.member_id != member.id:
        raise Conflict(
            f"{contact.email} is linked to {holder.member.display_name}; unlink them first."
        )
    current = link_of(member)
    if current is not None and current.contact_id == contact.id:
        return current
    action = "linked"
    if current is not None:
        _record_link(member, current.contact, "unlinked", "manual", by, reason)
        db.session.delete(current)
        db.session.flush()
        action = "relinked"
    link = MemberLink(
        member_id=member.id, contact_id=contact.id, method="manual", linked_by_id=by.id
    )
    db.session.add(link)
    _record_link(member, contact, action, "manual", by, reason)
    for conflict in db.session.scalars(
        select(LinkConflict).where(
            LinkConflict.resolved_at.is_(None),
            (LinkConflict.member_id == member.id) | (LinkConflict.contact_id == contact.id),
        )
    ):
        conflict.resolved_at = utcnow()
    sent = events.record(
        events.crm_link_changed, member, contact_id=contact.id, action=action,
        method="manual", by=by, reason=reason,
    )  # fmt: skip
    _commit()
    sent()
    apply_contact_to_member(contact)
    return link


def unlink_member(member: Member, *, by: Member, reason) -> None:
    _require_admin(by)
    errors: dict = {}
    reason = _reason(reason, errors)
    community.raise_if_invalid(errors)
    link = link_of(member)
    if link is None:
        raise NotFound("This member is not linked to a contact.")
    contact_id = link.contact_id
    _record_link(member, link.contact, "unlinked", "manual", by, reason)
    db.session.delete(link)
    sent = events.record(
        events.crm_link_changed, member, contact_id=contact_id, action="unlinked",
        method="manual", by=by, reason=reason,
    )  # fmt: skip
    _commit()
    sent()


def dismiss_conflict(conflict_id, *, by: Member) -> None:
    _require_admin(by)
    conflict = community.row_by_id(LinkConflict, conflict_id)
    if conflict is None:
        raise NotFound("No such conflict.")
    conflict.resolved_at = utcnow()
    _commit()


def open_conflicts() -> list[LinkConflict]:
    return list(
        db.session.scalars(
            select(LinkConflict)
            .where(LinkConflict.resolved_at.is_(None))
            .order_by(LinkConflict.created_at)
        )
    )


def recent_link_changes(limit: int = 20) -> list[LinkChange]:
    return list(db.session.scalars(select(LinkChange).order_by(LinkChange.id.desc()).limit(limit)))


# ---- the built-in CRM: contacts and accounts ------------------------------------------


def _amount(value, field_name: str, errors: dict) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        errors[field_name] = "Must be an amount, such as 12000 or 12000.50."
        return None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        errors[field_name] = "Must be between 0 and 999,999,999,999."
        return None
    return amount.quantize(Decimal("0.01"))


def _date(value, field_name: str, errors: dict) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field_name] = "Must be a date such as 2027-03-31."
        return None


def _email(value, errors: dict) -> str:
    if not isinstance(value, str) or not value.strip():
        errors["email"] = "Required."
        return ""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        errors["email"] = str(error)
        return ""


def _account_named(name: str | None) -> Account | None:
    if not name:
        return None
    key = name.strip().lower()
    account = db.session.scalar(select(Account).where(Account.name_key == key))
    if account is None:
        account = Account(name=name.strip(), name_key=key, custom_fields={}, external_ids={})
        db.session.add(account)
        db.session.flush()
    return account


def _contact_values(data: dict, errors: dict) -> dict:
    text = community.checked_text
    values = {
        "email": _email(data.get("email"), errors),
        "name": text(data.get("name"), "name", errors, minimum=0, maximum=120),
        "account": text(data.get("account"), "account", errors, minimum=0, maximum=120) or None,
        "segment": text(data.get("segment"), "segment", errors, minimum=0, maximum=60) or None,
        "tier": text(data.get("tier"), "tier", errors, minimum=0, maximum=40) or None,
        "owner": text(data.get("owner"), "owner", errors, minimum=0, maximum=120) or None,
        "customer_value": _amount(data.get("customer_value"), "customer_value", errors),
        "renewal_on": _date(data.get("renewal_on"), "renewal_on", errors),
        "sso_id": text(data.get("sso_id"), "sso_id", errors, minimum=0, maximum=200) or None,
    }
    fields = data.get("custom_fields") or {}
    if not isinstance(fields, dict):
        errors["custom_fields"] = "Must be field names and values."
        fields = {}
    for name in fields:
        if not isinstance(name, str) or not FIELD_NAME.fullmatch(name):
            errors["custom_fields"] = (
                f"{str(name)[:40]!r} is not a field name (letters, digits, _)."
            )
    values["custom_fields"] = {k: (v[:500] if isinstance(v, str) else v) for k, v in fields.items()}
    return values


def _write_contact(contact: Contact | None, values: dict) -> Contact:
    if contact is None:
        contact = Contact(email_key=values["email"].lower(), external_ids={}, community={})
        db.session.add(contact)
    contact.email = values["email"]
    contact.email_key = values["email"].lower()
    for name in ("name", "segment", "tier", "owner", "customer_value", "renewal_on", "sso_id"):
        setattr(contact, name, values[name])
    if values.get("name") is None:
        contact.name = ""
    contact.custom_fields = values["custom_fields"]
    contact.account = _account_named(values["account"])
    contact.updated_at = utcnow()
    return contact


def save_contact(data: dict, *, by: Member, contact: Contact | None = None) -> Contact:
    """Create or edit a contact of the built-in CRM; a linked member's customer
    facts follow at once."""
    _require_admin(by)
    errors: dict = {}
    values = _contact_values(data, errors)
    if not errors:
        other = db.session.scalar(
            select(Contact).where(Contact.email_key == values["email"].lower())
        )
        if other is not None and other is not contact:
            errors["email"] = "Another contact has this e-mail address."
    community.raise_if_invalid(errors)
    contact = _write_contact(contact, values)
    _commit()
    apply_contact_to_member(contact)
    if contact.link is None:
        member = community.find_member_by_email(contact.email)
        if member is not None:
            auto_link(member)
    return contact


def apply_contact_to_member(contact: Contact) -> None:
    """The linked member carries the contact's customer facts (segment, value...)."""
    link = contact.link
    if link is None:
        return
    account = contact.account
    community.set_customer_attributes(
        link.member, contact.customer_value if contact.customer_value is not None else (
            account.customer_value if account else None),
        contact.segment or (account.segment if account else None), by=None,
        tier=contact.tier or (account.tier if account else None),
        account_name=account.name if account else None, renewal_on=contact.renewal_on,
        fields=contact.custom_fields or {},
    )  # fmt: skip


def list_contacts(viewer, *, q: str | None = None, page: int = 1, per_page: int = 50):
    _require_staff(viewer)
    query = select(Contact).order_by(Contact.name, Contact.email)
    if q:
        like = f"%{q.strip().lower()[:100]}%"
        query = query.outerjoin(Account).where(
            func.lower(Contact.email).like(like)
            | func.lower(Contact.name).like(like)
            | func.lower(Account.name).like(like)
        )
    return db.paginate(query, page=min(page, 10**6), per_page=per_page, error_out=False)


def list_accounts(viewer) -> list[tuple[Account, int, Decimal]]:
    _require_staff(viewer)
    rows = db.session.execute(
        select(Account, func.count(Contact.id), func.coalesce(func.sum(Contact.customer_value), 0))
        .outerjoin(Contact, Contact.account_id == Account.id)
        .group_by(Account.id)
        .order_by(Account.name)
    ).all()
    return [(a, n, Decimal(str(v))) for a, n, v in rows]


# ---- CSV import ---------------------------------------------------------------------


@dataclass
class ImportRow:
    line: int
    email: str
    action: str  # create, update, error
    errors: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)


@dataclass
class ImportPreview:
    rows: list[ImportRow]
    errors: list[str]

    @property
    def valid(self) -> list[ImportRow]:
        return [r for r in self.rows if r.action != "error"]

    @property
    def invalid(self) -> list[ImportRow]:
        return [r for r in self.rows if r.action == "error"]


def preview_import(text) -> ImportPreview:
    """Check a CSV of contacts row by row; nothing is written."""
    if not isinstance(text, str) or not text.strip():
        return ImportPreview([], ["The file is empty."])
    text = text.replace("\x00", "").lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    headers = [h.strip().lower() for h in (reader.fieldnames or []) if h]
    if "email" not in headers:
        return ImportPreview([], ["The first line must name the columns, including email."])
    bad = [h for h in headers if h not in IMPORT_COLUMNS and not FIELD_NAME.fullmatch(h)]
    if bad:
        return ImportPreview([], [f"Unknown column names: {', '.join(b[:40] for b in bad[:5])}."])
    rows, seen = [], {}
    existing = set(db.session.scalars(select(Contact.email_key)))
    try:
        for number, raw in enumerate(reader, start=2):
            if len(rows) >= IMPORT_ROWS_MAX:
                return ImportPreview(rows, [f"At most {IMPORT_ROWS_MAX:,} rows per file."])
            record = {
                (k or "").strip().lower(): (v or "").strip()
                for k, v in raw.items()
                if isinstance(v, str)
            }
            data = {k: v for k, v in record.items() if k in IMPORT_COLUMNS}
            data["custom_fields"] = {
                k: v for k, v in record.items() if k not in IMPORT_COLUMNS and k
            }
            errors: dict = {}
            values = _contact_values(data, errors)
            values["account_values"] = {
                "segment": data.get("account_segment") or None,
                "tier": data.get("account_tier") or None,
                "owner": data.get("account_owner") or None,
                "customer_value": _amount(data.get("account_value"), "account_value", errors),
            }
            key = values["email"].lower()
            if key and key in seen:
                errors["email"] = f"Also on line {seen[key]}."
            if key:
                seen.setdefault(key, number)
            action = "error" if errors else ("update" if key in existing else "create")
            rows.append(
                ImportRow(
                    number, values["email"] or record.get("email", ""), action, errors, values
                )
            )
    except csv.Error as error:
        return ImportPreview(rows, [f"The file is not valid CSV: {error}."])
    if not rows:
        return ImportPreview([], ["The file has no rows under its header."])
    return ImportPreview(rows, [])


def confirm_import(text, *, by: Member) -> ImportPreview:
    """Write the valid rows of the CSV (checked again), then link and update members."""
    _require_admin(by)
    preview = preview_import(text)
    if preview.errors and not preview.rows:
        raise Invalid(preview.errors[0])
    touched = []
    for row in preview.valid:
        contact = db.session.scalar(select(Contact).where(Contact.email_key == row.email.lower()))
        contact = _write_contact(contact, row.values)
        account = contact.account
        if account is not None:
            for name, value in row.values["account_values"].items():
                if value is not None:
                    setattr(account, name, value)
            account.updated_at = utcnow()
        touched.append(contact)
    _commit()
    for contact in touched:
        if contact.link is not None:
            apply_contact_to_member(contact)
        else:
            member = community.find_member_by_email(contact.email)
            if member is not None:
                auto_link(member)
    return preview


# ---- community figures, pushed to every CRM ---------------------------------------


def community_figures(member_ids) -> dict[int, dict]:
    """What every CRM shows on a member's contact: the figures other domains
    register with ``community.member_figures`` (reputation: social value,
    engagement level, reputation, rank) and the bridge's own, deflected cases (by
    the member's accepted answers) and last activity. A fixed number of grouped
    queries however many members (the worker asks for a batch at once)."""
    ids = sorted({int(m) for m in member_ids if m})
    if not ids:
        return {}
    answer = (
        select(Post.author_id, func.count(Deflection.id))
        .join(Thread, Thread.id == Deflection.thread_id)
        .join(Post, Post.id == Thread.accepted_post_id)
        .where(Post.author_id.in_(ids))
        .group_by(Post.author_id)
    )
    deflected = dict(db.session.execute(answer).all())
    last = dict(
        db.session.execute(
            select(Member.id, func.max(Post.created_at))
            .outerjoin(Post, Post.author_id == Member.id)
            .where(Member.id.in_(ids))
            .group_by(Member.id)
        ).all()
    )
    seen = dict(
        db.session.execute(select(Member.id, Member.last_seen_at).where(Member.id.in_(ids))).all()
    )
    shared = member_figures.figures_for(ids)
    figures = {}
    for member_id in ids:
        moments = [m for m in (last.get(member_id), seen.get(member_id)) if m]
        figures[member_id] = {
            **shared.get(member_id, {}),
            "deflected_cases": deflected.get(member_id, 0),
            "last_active": max(moments).isoformat(timespec="seconds") + "Z" if moments else None,
        }
    return figures


def sync_full() -> Iterator[int]:
    """Re-push every linked member's profile fields (one contact row each, per
    connector); yields after each member for a progress bar."""
    members = list(
        db.session.scalars(
            select(Member).join(MemberLink, MemberLink.member_id == Member.id).order_by(Member.id)
        )
    )
    for start in range(0, len(members), 200):
        chunk = members[start : start + 200]
        figures = community_figures([m.id for m in chunk])
        for member in chunk:
            data = {**figures.get(member.id, {}), "name": member.display_name}
            outbox.enqueue("contact", data, member=member)
        db.session.commit()
        yield from range(len(chunk))


def sync_count() -> int:
    return db.session.scalar(select(func.count()).select_from(MemberLink)) or 0


# ---- pulled attributes and case statuses --------------------------------------------


def _external_index(connector: str) -> dict[str, int]:
    """{the connector's contact id: our contact id}, read once per pull."""
    rows = db.session.execute(
        select(Contact.id, Contact.external_ids).where(Contact.external_ids.is_not(None))
    )
    return {
        str(ids[connector]): cid for cid, ids in rows if isinstance(ids, dict) and connector in ids
    }


def _member_for(
    attributes: ContactAttributes, connector: str, index: dict[str, int]
) -> tuple[Member | None, Contact | None]:
    contact = None
    if attributes.external_id:
        if connector == "builtin" and str(attributes.external_id).isdigit():
            contact = db.session.get(Contact, int(attributes.external_id))
        elif str(attributes.external_id) in index:
            contact = db.session.get(Contact, index[str(attributes.external_id)])
    if contact is None and attributes.email:
        contact = db.session.scalar(
            select(Contact).where(Contact.email_key == attributes.email.strip().lower())
        )
    if contact is not None and contact.link is not None:
        return contact.link.member, contact
    member = community.find_member_by_email(attributes.email) if attributes.email else None
    if member is not None and link_of(member) is not None:
        member = None  # linked to another contact: that contact speaks for them
    return member, contact


def apply_pulled(connector: str, pulled: Pulled) -> tuple[int, int]:
    """Customer facts onto members, case statuses onto cases; (members, cases) changed."""
    members = cases = 0
    index = _external_index(connector) if pulled.contacts else {}
    for attributes in pulled.contacts:
        member, _contact = _member_for(attributes, connector, index)
        if member is None:
            continue
        try:
            community.set_customer_attributes(
                member, attributes.customer_value, attributes.segment, by=None,
                tier=attributes.tier, account_name=attributes.account_name,
                renewal_on=attributes.renewal_on, fields=dict(attributes.fields or {}),
            )  # fmt: skip
        except Invalid:
            db.session.rollback()
            continue
        members += 1
    for status in pulled.cases:
        if apply_case_status(connector, status):
            cases += 1
    return members, cases


def apply_case_status(connector: str, status: CaseStatus) -> bool:
    """A CRM's word on a case: its row here, and the community's case status."""
    reference = str(status.reference or "")[:20].upper()
    community_status = CASE_STATUS_MAP.get(str(status.status or "").strip().lower())
    if not reference or community_status is None:
        return False
    support_case = db.session.scalar(select(SupportCase).where(SupportCase.reference == reference))
    row = db.session.scalar(
        select(Case).where(Case.reference == reference, Case.connector == connector)
    )
    if row is None:
        if support_case is None:
            return False
        row = Case(reference=reference, connector=connector, support_case_id=support_case.id)
        db.session.add(row)
    resolution = (status.resolution or None) and str(status.resolution)[:10_000]
    changed = row.status != community_status or row.resolution != resolution
    row.status, row.resolution, row.updated_at = community_status, resolution, utcnow()
    _commit()
    if support_case is not None:
        community_help.set_case_status(support_case, community_status)
    return changed


def open_case_references(connector: str) -> list[str]:
    rows = db.session.scalars(
        select(Case.reference).where(Case.connector == connector, Case.status.not_in(CLOSED))
    )
    return list(rows)


def pull(deliverer: outbox.Deliverer | None = None) -> dict[str, tuple[int, int]]:
    """Ask every enabled connector for attribute changes and open cases' statuses."""
    deliverer = deliverer or outbox.Deliverer()
    done = {}
    for name in outbox.enabled():
        connector = deliverer.connector(name)
        if connector is None:
            continue
        try:
            pulled = connector.pull(open_case_references(name))
        except Exception as error:  # one CRM down must not stop the others
            current_app.logger.warning("CRM pull from %s failed: %s", name, error)
            continue
        done[name] = apply_pulled(name, pulled)
    return done


# ---- the inbound webhook --------------------------------------------------------------


def _inbound_secret() -> str | None:
    cfg = current_app.config
    return cfg.get("CRM_INBOUND_SECRET") or cfg.get("CRM_WEBHOOK_SECRET") or None


def receive_inbound(body: bytes, timestamp: str | None, signature: str | None) -> str:
    """A signed change from the CRM: verified, checked for replays, applied.
    Answers "applied" or "duplicate"."""
    secret = _inbound_secret()
    if not secret:
        raise NotFound("The inbound CRM webhook is not configured.")
    tolerance = int(current_app.config["CRM_INBOUND_TOLERANCE_SECONDS"])
    if not timestamp or not str(timestamp).isdigit() or len(str(timestamp)) > 12:
        raise Unauthorized("X-Parley-Timestamp is missing or not Unix seconds.")
    if abs(time.time() - int(timestamp)) > tolerance:
        raise Unauthorized("The timestamp is too old or in the future (replay protection).")
    expected = (
        "sha256="
        + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    if not signature or not hmac.compare_digest(expected, str(signature)):
        raise Unauthorized("The signature does not match.")
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("The body must be a JSON object.") from None
    if not isinstance(event, dict):
        raise Invalid("The body must be a JSON object.")
    event_id, kind, data = event.get("id"), event.get("type"), event.get("data")
    errors = {}
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 100:
        errors["id"] = "Required: a unique id of at most 100 characters."
    if kind not in ("contact.updated", "case.updated"):
        errors["type"] = "Must be contact.updated or case.updated."
    if not isinstance(data, dict):
        errors["data"] = "Must be an object."
    community.raise_if_invalid(errors)
    db.session.add(InboundEvent(id=event_id, type=kind))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return "duplicate"
    connector = str(event.get("connector") or "webhook")[:20]
    if kind == "case.updated":
        resolution = data.get("resolution")
        status = CaseStatus(
            str(data.get("reference") or ""),
            str(data.get("status") or ""),
            resolution if isinstance(resolution, str) else None,
        )
        if not apply_case_status(connector, status):
            current_app.logger.info("inbound case %s changed nothing", status.reference)
        return "applied"
    errors = {}
    value = _amount(data.get("customer_value"), "customer_value", errors)
    renewal = _date(data.get("renewal_on"), "renewal_on", errors)
    fields = data.get("fields") if isinstance(data.get("fields"), dict) else {}
    text = {k: data.get(k) if isinstance(data.get(k), str) else None
            for k in ("email", "external_id", "segment", "tier", "account_name")}  # fmt: skip
    community.raise_if_invalid(errors)
    attributes = ContactAttributes(
        email=text["email"], external_id=text["external_id"], segment=text["segment"],
        tier=text["tier"], customer_value=value, account_name=text["account_name"],
        renewal_on=renewal, fields=fields,
    )  # fmt: skip
    try:
        apply_pulled(connector, Pulled(contacts=[attributes]))
    except Invalid:
        db.session.rollback()
    return "applied"


# ---- cases on threads and the knowledge loop -----------------------------------------


@dataclass
class ThreadCase:
    support_case: SupportCase
    crm: Case | None

    @property
    def status(self) -> str:
        return self.crm.status if self.crm else self.support_case.status

    @property
    def resolution(self) -> str | None:
        return self.crm.resolution if self.crm else None


def _crm_case_of(support_case: SupportCase) -> Case | None:
    rows = list(
        db.session.scalars(
            select(Case)
            .where(Case.reference == support_case.reference)
            .order_by(Case.updated_at.desc())
        )
    )
    return rows[0] if rows else None


def thread_cases(thread: Thread, viewer) -> list[ThreadCase]:
    """The support cases opened from this thread that the viewer may see: their own,
    or all of them for staff."""
    if thread is None or not getattr(viewer, "is_authenticated", False):
        return []
    query = select(SupportCase).where(SupportCase.thread_id == thread.id)
    if not access.can_view_support_analytics(viewer):
        query = query.where(SupportCase.member_id == viewer.id)
    cases = list(db.session.scalars(query.order_by(SupportCase.created_at.desc()).limit(20)))
    return [ThreadCase(c, _crm_case_of(c)) for c in cases]


def can_escalate(member) -> bool:
    """Support agents (and admins) open cases from threads."""
    return getattr(member, "is_authenticated", False) and member.has_role("support_agent", "admin")


def escalate_thread(thread: Thread, *, by: Member, description) -> SupportCase:
    """An agent escalates a thread: a support case for its author, through the help
    flow's own service (so case_escalated reaches the CRM like any other case)."""
    access.require(can_escalate(by), hide=True)
    access.require_visible(by, thread)
    text = description if isinstance(description, str) and description.strip() else thread.title
    return community_help.open_case(
        thread.title[:200].ljust(5, "."), f"Escalated by {by.display_name}: {text}"[:5000],
        by=thread.author, visitor_key=f"m:{thread.author_id}", thread_id=thread.id,
    )  # fmt: skip


def get_case(case_id, viewer) -> Case:
    _require_staff(viewer)
    case = community.row_by_id(Case, case_id)
    if case is None:
        raise NotFound("No such case.")
    return case


def update_case(case: Case, *, by: Member, status, resolution) -> Case:
    """Support works a case in the built-in CRM; the thread shows it at once."""
    _require_staff(by)
    if case.connector != "builtin":
        raise NotAllowed(f"This case lives in {case.connector}; change it there.")
    errors: dict = {}
    if status not in ("open", "pending", "solved", "closed"):
        errors["status"] = "Choose open, pending, solved or closed."
    resolution = community.checked_text(resolution, "resolution", errors, minimum=0, maximum=10_000)
    community.raise_if_invalid(errors)
    apply_case_status("builtin", CaseStatus(case.reference, status, resolution or None))
    return case


def publish_resolution(case: Case, *, by: Member) -> Post:
    """One click for agents: the case's resolution becomes the thread's answer."""
    _require_staff(by)
    support_case = case.support_case
    if support_case is None or support_case.thread is None:
        raise Invalid("This case was not opened from a thread.")
    if case.status not in CLOSED or not (case.resolution or "").strip():
        raise Invalid("Only a solved or closed case with a resolution can be published.")
    if case.published_post_id is not None:
        raise Conflict("The resolution is already published on the thread.")
    thread = support_case.thread
    post = community.reply(thread, by, case.resolution)
    case = db.session.get(Case, case.id)
    case.published_post_id = post.id
    _commit()
    if thread.kind == "question" and access.can_accept(by, thread):
        community.accept_answer(post, by)
    return post


# ---- the customer 360 ----------------------------------------------------------------


def _iso(value):
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _money(value) -> str | None:
    return str(value) if value is not None else None


def customer_360(contact: Contact, viewer) -> dict:
    """Everything the community knows about one customer, for staff."""
    _require_staff(viewer)
    link = contact.link
    member = link.member if link else None
    account = contact.account
    data: dict = {
        "id": contact.id,
        "email": contact.email,
        "name": contact.name,
        "account": {
            "id": account.id, "name": account.name, "segment": account.segment,
            "tier": account.tier, "owner": account.owner,
            "customer_value": _money(account.customer_value),
        } if account else None,
        "segment": contact.segment,
        "tier": contact.tier,
        "owner": contact.owner,
        "customer_value": _money(contact.customer_value),
        "renewal_on": contact.renewal_on.isoformat() if contact.renewal_on else None,
        "custom_fields": contact.custom_fields or {},
        "external_ids": contact.external_ids or {},
        "member": None,
        "link": {"method": link.method, "linked_at": _iso(link.linked_at)} if link else None,
    }  # fmt: skip
    activity_rows = list(
        db.session.scalars(
            select(Activity)
            .where(Activity.contact_id == contact.id)
            .order_by(Activity.occurred_at.desc())
            .limit(500)
        )
    )
    data["timeline"] = [
        {"kind": a.kind, "type": a.type, "title": a.title, "url": a.url, "at": _iso(a.occurred_at)}
        for a in activity_rows
        if a.kind != "contact"
    ][:25]
    sentiment = [
        {"at": _iso(a.occurred_at), "sentiment": a.data.get("sentiment")}
        for a in reversed(activity_rows)
        if a.type == "conversation_at_risk" and isinstance(a.data.get("sentiment"), int | float)
    ]
    data["sentiment_trend"] = sentiment
    data["alerts"] = [
        {"type": a.type, "title": a.title, "url": a.url, "at": _iso(a.occurred_at),
         "terms": a.data.get("terms") or []}
        for a in activity_rows if a.kind in ("lead", "task") or a.type == "conversation_at_risk"
    ][:10]  # fmt: skip
    data.update(
        activity=None, reputation=None, rank=None, social_value=None, engagement_level=None,
        deflected_cases=0, self_service=0, support_cases=[], ideas=[], advisory=[],
    )  # fmt: skip
    community_fields = dict(contact.community or {})
    if member is None:
        data["reputation"] = community_fields.get("reputation")
        data["rank"] = community_fields.get("rank")
        return data
    data["member"] = {
        "id": member.id, "name": member.display_name, "handle": member.handle,
        "url": external_url("community.profile", member_id=member.id),
    }  # fmt: skip
    figures = community_figures([member.id])[member.id]
    data["reputation"] = figures.get("reputation", community_fields.get("reputation"))
    data["rank"] = figures.get("rank", community_fields.get("rank"))
    data["social_value"] = figures.get("social_value")
    data["engagement_level"] = figures.get("engagement_level")
    data["deflected_cases"] = figures["deflected_cases"]
    data["self_service"] = db.session.scalar(
        select(func.count()).select_from(Deflection).where(Deflection.member_id == member.id)
    )
    threads = db.session.scalar(select(func.count()).where(Thread.author_id == member.id)) or 0
    posts = db.session.scalar(select(func.count()).where(Post.author_id == member.id)) or 0
    accepted = db.session.scalar(
        select(func.count()).select_from(Thread).join(Post, Post.id == Thread.accepted_post_id)
        .where(Post.author_id == member.id)
    ) or 0  # fmt: skip
    kudos = db.session.scalar(
        select(func.count()).select_from(Kudos).join(Post, Post.id == Kudos.post_id)
        .where(Post.author_id == member.id)
    ) or 0  # fmt: skip
    data["activity"] = {
        "threads": threads, "replies": max(0, posts - threads), "accepted_answers": accepted,
        "kudos_received": kudos, "last_active": figures["last_active"],
    }  # fmt: skip
    cases = db.session.scalars(
        select(SupportCase)
        .where(
            (SupportCase.member_id == member.id)
            | (func.lower(SupportCase.email) == contact.email_key)
        )
        .order_by(SupportCase.created_at.desc()).limit(20)
    )  # fmt: skip
    for case in cases:
        crm = _crm_case_of(case)
        data["support_cases"].append({
            "reference": case.reference, "subject": case.subject,
            "status": crm.status if crm else case.status,
            "resolution": crm.resolution if crm else None, "opened_at": _iso(case.created_at),
            "thread_url": case.thread_id
            and external_url("community.thread", thread_id=case.thread_id),
        })  # fmt: skip
    votes = db.session.execute(
        select(Idea, Vote.value_at_vote)
        .join(Vote, Vote.idea_id == Idea.id)
        .where(Vote.member_id == member.id, Vote.voided_at.is_(None))
        .order_by(Vote.created_at.desc()).limit(50)
    ).all()  # fmt: skip
    data["ideas"] = [
        {"id": idea.id, "title": idea.title, "status": idea.status,
         "url": external_url("ideas.idea", idea_id=idea.id),
         "value_at_vote": str(value) if value is not None else None}
        for idea, value in votes
    ]  # fmt: skip
    spaces = db.session.execute(
        select(Space, SpaceMembership.joined_at)
        .join(SpaceMembership, SpaceMembership.space_id == Space.id)
        .where(SpaceMembership.member_id == member.id, Space.kind == "advisory")
    ).all()
    data["advisory"] = [
        {"space": s.name, "slug": s.slug, "joined_at": _iso(joined)} for s, joined in spaces
    ]
    return data


def contacts_of_members(member_ids) -> dict[int, Contact]:
    links = db.session.scalars(select(MemberLink).where(MemberLink.member_id.in_(list(member_ids))))
    return {link.member_id: link.contact for link in links}


def connector_names() -> list[str]:
    return connectors.enabled_names(current_app.config)
