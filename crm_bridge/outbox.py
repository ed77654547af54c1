"""The outbox: rows written in the transaction that caused them, delivered at least
once by workers, in order per contact, with retries and dead letters.

Writing (`enqueue`) is one INSERT (one row per enabled connector). Delivering
(`deliver_due`) claims due rows with a short lease (FOR UPDATE SKIP LOCKED on
PostgreSQL; on SQLite a worker lease lets one worker at a time), coalesces contact
updates per contact, hands the connector its batch and records the outcomes.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from community import help as community_help
from community.extensions import db
from community.models import Member, SupportCase, utcnow
from ideas.models import Idea, Vote

from . import connectors
from .connectors.base import Connector, ContactRef, Delivery, Outcome
from .models import Account, Case, Contact, MemberLink, OutboxItem, State

log = logging.getLogger(__name__)

T = OutboxItem.__table__  # the worker reads and writes rows, not ORM objects
FANOUT_KINDS = {"idea_status"}  # expanded by the worker into account_activity rows
ERROR_MAX = 2000
HELD = Outcome.retry("held back behind an earlier event of the same contact")


def enabled() -> list[str]:
    return connectors.enabled_names(current_app.config)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


def enqueue(kind: str, data: dict, *, member=None, email=None, key=None, account=None) -> None:
    """Add the event for every enabled connector: a single INSERT into the open
    transaction (recording receivers call this; nothing is read)."""
    names = enabled()
    if not names:
        return
    if member is not None:
        email = email or member.email
    key = key or (f"m:{member.id}" if member is not None else f"e:{(email or '').lower()}")
    now = utcnow()
    event_id = str(uuid.uuid4())
    payload = {"data": data, "account": account}
    rows = [
        {
            "event_id": event_id,
            "connector": name,
            "kind": kind,
            "contact_key": key[:300],
            "member_id": member.id if member is not None else None,
            "email": (email or None) and email[:254],
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for name in names
    ]
    db.session.execute(insert(OutboxItem), rows)


# ---- workers ------------------------------------------------------------------


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:80]


def _is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def hold_lease(name: str, holder: str, seconds: float) -> bool:
    """Take or renew a named lease (one UPDATE, atomic); False while another holds it."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    taken = db.session.execute(
        update(State)
        .where(State.name == name)
        .where(or_(State.holder == holder, State.until.is_(None), State.until < now))
        .values(holder=holder, until=until)
    ).rowcount
    if not taken:
        exists = db.session.scalar(select(State.name).where(State.name == name))
        if exists is None:
            try:
                with db.session.begin_nested():
                    db.session.add(State(name=name, holder=holder, until=until, value={}))
                taken = 1
            except IntegrityError:
                taken = 0
    db.session.commit()
    return bool(taken)


def release_lease(name: str, holder: str) -> None:
    db.session.execute(
        update(State).where(State.name == name, State.holder == holder).values(until=None)
    )
    db.session.commit()


@dataclass
class Pass:
    """What one delivery pass did, for logs, the CLI and tests."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0
    errors: Counter = field(default_factory=Counter)

    @property
    def handled(self) -> int:
        return self.delivered + self.retried + self.dead

    def __int__(self) -> int:  # what the background runner counts
        return self.handled

    def __str__(self) -> str:
        return f"delivered {self.delivered}, retrying {self.retried}, dead {self.dead}"


class Deliverer:
    """Delivers due outbox rows for the configured connectors. One per worker."""

    def __init__(self, holder: str | None = None):
        self.holder = holder or worker_name()
        self.connectors: dict[str, Connector] = {}
        self.broken: dict[str, str] = {}

    def connector(self, name: str) -> Connector | None:
        if name not in self.connectors and name not in self.broken:
            try:
                self.connectors[name] = connectors.build(name, current_app.config)
            except Exception as error:  # a misconfigured CRM must not stop the others
                self.broken[name] = str(error)
                log.error("CRM connector %s is not usable: %s", name, error)
        return self.connectors.get(name)

    def close(self) -> None:
        """Release the connectors and, on SQLite, the worker lease for the next worker."""
        for connector in self.connectors.values():
            connector.close()
        self.connectors.clear()
        if _is_sqlite():
            db.session.rollback()
            release_lease("worker", self.holder)

    def deliver_due(self, limit: int | None = None) -> Pass:
        """One pass over every enabled connector: claim, deliver, record."""
        result = Pass()
        cfg = current_app.config
        lease = float(cfg["CRM_LEASE_SECONDS"])
        if _is_sqlite() and not hold_lease("worker", self.holder, lease):
            return result
        for name in enabled():
            connector = self.connector(name)
            if connector is None:
                continue
            size = min(limit or int(cfg["CRM_BATCH_SIZE"]), connector.batch_size * 4)
            items = self._claim(name, size, lease)
            if not items:
                continue
            items = self._expand_fanouts(name, items)
            self._deliver(connector, items, result)
        return result

    # -- claiming ------------------------------------------------------------------

    def _claim(self, name: str, limit: int, lease: float) -> list:
        """Due rows of this connector as plain rows (read-only: every change is an
        UPDATE keyed by id), claimed for `lease` seconds."""
        now = utcnow()
        query = (
            select(T.c.id, T.c.contact_key)
            .where(
                T.c.connector == name,
                T.c.status == "pending",
                T.c.next_attempt_at <= now,
                or_(T.c.claimed_until.is_(None), T.c.claimed_until <= now),
            )
            .order_by(T.c.id)
            .limit(limit)
        )
        if not _is_sqlite():
            query = query.with_for_update(skip_locked=True)
        candidates = db.session.execute(query).all()
        if not candidates:
            db.session.commit()
            return []
        # Order per contact: a row is taken only when every earlier pending row of
        # its contact is taken with it. Whatever holds an earlier one back (a retry
        # backing off, another worker's claim, or another worker's lock that SKIP
        # LOCKED just passed over, whose claim is not committed yet) holds the later
        # ones too. (Asking only for committed claims let a second worker deliver a
        # contact's later row while the first was still claiming the earlier one.)
        keys = {key for _id, key in candidates}
        mine = [i for i, _key in candidates]
        waiting = dict(
            db.session.execute(
                select(T.c.contact_key, func.min(T.c.id))
                .where(
                    T.c.connector == name,
                    T.c.status == "pending",
                    T.c.contact_key.in_(keys),
                    T.c.id < max(mine),
                    T.c.id.not_in(mine),
                )
                .group_by(T.c.contact_key)
            ).all()
        )
        ids = [i for i, key in candidates if i < waiting.get(key, i + 1)]
        if ids:
            db.session.execute(
                update(T)
                .where(T.c.id.in_(ids))
                .values(claimed_until=now + timedelta(seconds=lease))
            )
        db.session.commit()
        if not ids:
            return []
        return db.session.execute(select(T).where(T.c.id.in_(ids)).order_by(T.c.id)).all()

    def _expand_fanouts(self, name: str, items: list) -> list:
        """An idea's status change becomes one account_activity row per account
        whose members voted; the expanding row is then done."""
        fanouts = [i for i in items if i.kind in FANOUT_KINDS]
        if not fanouts:
            return items
        for item in fanouts:
            rows = _idea_status_rows(item)
            existing = set(
                db.session.scalars(
                    select(T.c.event_id).where(
                        T.c.connector == name, T.c.event_id.in_([r["event_id"] for r in rows])
                    )
                )
            )
            rows = [r for r in rows if r["event_id"] not in existing]
            if rows:
                db.session.execute(insert(T), rows)
            db.session.execute(
                update(T)
                .where(T.c.id == item.id)
                .values(status="delivered", delivered_at=utcnow(), claimed_until=None,
                        attempts=item.attempts + 1)
            )  # fmt: skip
        db.session.commit()
        return [i for i in items if i.kind not in FANOUT_KINDS]

    # -- delivering ----------------------------------------------------------------

    def _deliver(self, connector: Connector, items: list, result: Pass) -> None:
        name = connector.name
        links = _links([i.member_id for i in items if i.member_id])
        members = _members([i.member_id for i in items if i.member_id and i.member_id not in links])
        groups = _coalesce(items)
        figures = _figures([g[0].member_id for g in groups if g[0].kind == "contact"])
        deliveries = [
            _delivery(group, name, links, members, figures) for group in groups
        ]  # fmt: skip
        outcomes = self._send_in_waves(connector, deliveries, [g[-1].contact_key for g in groups])
        self._record(name, groups, deliveries, outcomes, links, result)

    @staticmethod
    def _send_in_waves(connector: Connector, deliveries: list[Delivery], keys: list[str]):
        """Each wave holds at most one delivery per contact; once a contact's delivery
        must be retried, its later ones are held back (order per contact). One
        connector failure undoes the whole pass: everything is retried, idempotently."""
        outcomes: list[Outcome | None] = [None] * len(deliveries)
        blocked: set[str] = set()
        remaining = list(range(len(deliveries)))
        while remaining:
            wave, later, seen = [], [], set()
            for index in remaining:
                key = keys[index]
                if key in blocked:
                    outcomes[index] = HELD
                elif key in seen:
                    later.append(index)
                else:
                    seen.add(key)
                    wave.append(index)
            for start in range(0, len(wave), connector.batch_size):
                chunk = wave[start : start + connector.batch_size]
                try:
                    answer = connector.deliver([deliveries[i] for i in chunk])
                    if len(answer) != len(chunk):
                        raise RuntimeError("the connector answered a different number of outcomes")
                except Exception as error:
                    db.session.rollback()  # whatever a failing connector wrote is undone
                    log.exception("CRM connector %s failed", connector.name)
                    failed = Outcome.retry(f"{type(error).__name__}: {error}"[:ERROR_MAX])
                    return [failed] * len(deliveries)
                for index, outcome in zip(chunk, answer, strict=True):
                    outcomes[index] = outcome
                    if outcome.status == "retry":
                        blocked.add(keys[index])
            remaining = later
        return outcomes

    def _record(self, name, groups, deliveries, outcomes, links, result: Pass) -> None:
        """Outcomes onto the rows: a few executemany UPDATEs, one commit."""
        cfg = current_app.config
        max_attempts = int(cfg["CRM_MAX_ATTEMPTS"])
        now = utcnow()
        cases, new_links = [], []
        delivered, failed, held = [], [], []
        for group, outcome in zip(groups, outcomes, strict=True):
            for item in group:
                if outcome is HELD:  # not tried: waits behind the contact's earlier row
                    held.append(item.id)
                    continue
                attempts = item.attempts + 1
                if outcome.status == "delivered":
                    external = (outcome.external_id or None) and outcome.external_id[:200]
                    delivered.append(
                        {"b_id": item.id, "b_attempts": attempts, "b_external": external}
                    )
                    result.delivered += 1
                    if item.kind == "case":
                        cases.append((item, outcome.external_id))
                    names_contact = ("contact", "activity") if name == "builtin" else ("contact",)
                    if outcome.external_id and item.member_id and item.kind in names_contact:
                        new_links.append((item.member_id, outcome.external_id))
                    continue
                error = (outcome.error or outcome.status)[:ERROR_MAX]
                result.errors[error[:120]] += 1
                if outcome.status == "rejected" or attempts >= max_attempts:
                    status, next_at = "dead", now
                    result.dead += 1
                else:
                    status = "pending"
                    next_at = now + timedelta(seconds=backoff(attempts, outcome.retry_after))
                    result.retried += 1
                failed.append({"b_id": item.id, "b_attempts": attempts, "b_status": status,
                               "b_next": next_at, "b_error": error})  # fmt: skip
        if name == "builtin":
            _link_created_contacts(new_links, links)
        else:
            _remember_external_ids(name, new_links, links)
        case_rows = _record_cases(name, cases, links)
        by_id = T.c.id == bindparam("b_id")
        if delivered:
            db.session.execute(
                update(T).where(by_id).values(
                    status="delivered", delivered_at=now, attempts=bindparam("b_attempts"),
                    external_id=bindparam("b_external"), claimed_until=None, last_error=None,
                ),
                delivered,
            )  # fmt: skip
        if failed:
            db.session.execute(
                update(T).where(by_id).values(
                    status=bindparam("b_status"), attempts=bindparam("b_attempts"),
                    next_attempt_at=bindparam("b_next"), last_error=bindparam("b_error"),
                    claimed_until=None,
                ),
                failed,
            )  # fmt: skip
        if held:
            db.session.execute(update(T).where(T.c.id.in_(held)).values(claimed_until=None))
        db.session.commit()
        for case in case_rows:  # community's status: open, once a CRM has the case
            if case.status == "pending_sync":
                community_help.set_case_status(case, "open")


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Exponential with full jitter, at least what the CRM asked for."""
    cfg = current_app.config
    base = float(cfg["CRM_BACKOFF_SECONDS"])
    ceiling = float(cfg["CRM_BACKOFF_MAX_SECONDS"])
    delay = min(ceiling, base * 2 ** max(0, attempts - 1))
    delay = delay / 2 + random.uniform(0, delay / 2)
    return max(delay, min(retry_after or 0.0, ceiling))


@dataclass(frozen=True)
class LinkInfo:
    """What a delivery needs of a member's link, read in one light query."""

    member_id: int
    contact_id: int
    email: str
    external_ids: dict
    account: str | None


def _links(member_ids) -> dict[int, LinkInfo]:
    if not member_ids:
        return {}
    rows = db.session.execute(
        select(MemberLink.member_id, Contact.id, Contact.email, Contact.external_ids, Account.name)
        .join(Contact, Contact.id == MemberLink.contact_id)
        .outerjoin(Account, Account.id == Contact.account_id)
        .where(MemberLink.member_id.in_(set(member_ids)))
    ).all()
    return {r[0]: LinkInfo(r[0], r[1], r[2], r[3] or {}, r[4]) for r in rows}


def _members(member_ids) -> dict[int, Member]:
    if not member_ids:
        return {}
    return {
        m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(set(member_ids))))
    }


def _coalesce(items: list) -> list[list]:
    """Groups in delivery order: every contact update of one contact in this batch
    becomes one delivery (at the place of the last), everything else stays alone."""
    last_contact = {}
    for index, item in enumerate(items):
        if item.kind == "contact":
            last_contact[item.contact_key] = index
    groups: list[list] = []
    pending: dict[str, list] = defaultdict(list)
    for index, item in enumerate(items):
        if item.kind != "contact":
            groups.append([item])
            continue
        pending[item.contact_key].append(item)
        if last_contact[item.contact_key] == index:
            groups.append(pending.pop(item.contact_key))
    return groups


def _figures(member_ids) -> dict[int, dict]:
    from .services import community_figures  # services import this module

    ids = [m for m in member_ids if m]
    return community_figures(ids) if ids else {}


def _delivery(group, name, links, members, figures) -> Delivery:
    last = group[-1]
    data: dict = {}
    for item in group:
        data.update((item.payload or {}).get("data") or {})
    if last.kind == "contact" and last.member_id in figures:
        data = {**figures[last.member_id], **data}
    link = links.get(last.member_id) if last.member_id else None
    account = (last.payload or {}).get("account")
    if link is not None:
        external = str(link.contact_id) if name == "builtin" else link.external_ids.get(name)
        ref = ContactRef(last.member_id, link.email, external, account or link.account)
    elif last.member_id or last.email:
        member = members.get(last.member_id)
        ref = ContactRef(
            last.member_id,
            last.email or (member.email if member else None),
            None,
            account or (member.account_name if member else None),
        )
    else:
        ref = ContactRef(None, None, None, account)
    return Delivery(
        id=last.event_id,
        kind=last.kind,
        contact=ref,
        data=data,
        occurred_at=last.created_at,
        attempt=last.attempts + 1,
    )


def _link_created_contacts(pairs, links) -> None:
    """The built-in connector found or created the contact by the member's e-mail
    (verified at registration): link them, unless either side is linked already."""
    from .services import link_by_delivery

    for member_id, contact_id in pairs:
        if member_id not in links and contact_id.isdigit():
            link = link_by_delivery(member_id, int(contact_id))
            if link is not None:
                links[member_id] = LinkInfo(member_id, link.contact_id, "", {}, None)


def _remember_external_ids(name, pairs, links) -> None:
    """A contact update's outcome names the contact's id in that CRM: keep it."""
    for member_id, external_id in pairs:
        link = links.get(member_id)
        if link is not None and link.external_ids.get(name) != external_id:
            contact = db.session.get(Contact, link.contact_id)
            contact.external_ids = {**(contact.external_ids or {}), name: external_id}


def _record_cases(name, cases, links) -> list[SupportCase]:
    """Remember which CRM case each delivered escalation became."""
    if not cases:
        return []
    now = utcnow()
    support = []
    for item, external_id in cases:
        reference = str(((item.payload or {}).get("data") or {}).get("reference") or "")[:20]
        if not reference:
            continue
        support_case = db.session.scalar(
            select(SupportCase).where(SupportCase.reference == reference)
        )
        row = db.session.scalar(
            select(Case).where(Case.reference == reference, Case.connector == name)
        )
        if row is None:
            row = Case(reference=reference, connector=name, status="open", created_at=now)
            db.session.add(row)
        row.external_id = (external_id or row.external_id or None) and str(
            external_id or row.external_id
        )[:200]
        row.support_case_id = support_case.id if support_case else None
        link = links.get(item.member_id) if item.member_id else None
        row.contact_id = row.contact_id or (link.contact_id if link else None)
        row.updated_at = now
        if support_case is not None:
            support.append(support_case)
    return support


def _idea_status_rows(item) -> list[dict]:
    data = (item.payload or {}).get("data") or {}
    idea = (
        db.session.get(Idea, data.get("idea_id")) if isinstance(data.get("idea_id"), int) else None
    )
    if idea is None:
        return []
    voters = db.session.execute(
        select(Vote.member_id, Vote.value_at_vote, Member.customer_value, Member.account_name)
        .join(Member, Member.id == Vote.member_id)
        .where(Vote.idea_id == idea.id, Vote.voided_at.is_(None))
    ).all()
    linked = dict(
        db.session.execute(
            select(MemberLink.member_id, Account.name)
            .join(Contact, Contact.id == MemberLink.contact_id)
            .join(Account, Account.id == Contact.account_id)
            .where(MemberLink.member_id.in_([v.member_id for v in voters]))
        ).all()
    )
    accounts: dict[str, dict] = {}
    for v in voters:
        account = linked.get(v.member_id) or v.account_name
        if not account:
            continue
        entry = accounts.setdefault(
            account, {"voters": 0, "value_at_vote": Decimal(0), "value_now": Decimal(0)}
        )
        entry["voters"] += 1
        entry["value_at_vote"] += v.value_at_vote or 0
        entry["value_now"] += v.customer_value or 0
    now = utcnow()
    rows = []
    for account, figures in sorted(accounts.items()):
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{item.event_id}/{account.lower()}"))
        note = data.get("note") or ""
        label = data.get("status_label") or data.get("status")
        rows.append(
            {
                "event_id": event_id,
                "connector": item.connector,
                "kind": "account_activity",
                "contact_key": f"a:{account.lower()}"[:300],
                "member_id": None,
                "email": None,
                "payload": {
                    "account": account,
                    "data": {
                        "type": "idea_status_changed",
                        "idea_id": idea.id,
                        "idea_title": idea.title,
                        "status": data.get("status"),
                        "title": f"Idea you asked for is now {label}: {idea.title}"[:300],
                        "note": note,
                        "url": data.get("url"),
                        "voters": figures["voters"],
                        "value_at_vote": str(figures["value_at_vote"]),
                        "value_now": str(figures["value_now"]),
                    },
                },
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )  # fmt: skip
    return rows


# ---- operators: status, replay -----------------------------------------------------


@dataclass
class Status:
    connectors: list[str]
    broken: dict[str, str]
    backlog: dict[str, int]
    oldest_pending: datetime | None
    failing: list[tuple[str, int]]  # (last error, rows) of pending rows that failed
    dead: int
    dead_letters: list[OutboxItem]
    dead_by_error: list[tuple[str, int]]
    delivered_24h: int
    lag: list[dict]  # [{"hour": iso, "avg_seconds": float, "max_seconds": float, "count": n}]


def status(dead_limit: int = 50) -> Status:
    names = enabled()
    broken = {}
    for name in names:
        try:
            connectors.build(name, current_app.config).close()
        except Exception as error:
            broken[name] = str(error)
    backlog = dict(
        db.session.execute(
            select(OutboxItem.connector, func.count())
            .where(OutboxItem.status == "pending")
            .group_by(OutboxItem.connector)
        ).all()
    )
    oldest = db.session.scalar(
        select(func.min(OutboxItem.created_at)).where(OutboxItem.status == "pending")
    )
    failing = db.session.execute(
        select(OutboxItem.last_error, func.count())
        .where(OutboxItem.status == "pending", OutboxItem.last_error.is_not(None))
        .group_by(OutboxItem.last_error)
        .order_by(func.count().desc())
        .limit(20)
    ).all()
    dead_by_error = db.session.execute(
        select(OutboxItem.last_error, func.count())
        .where(OutboxItem.status == "dead")
        .group_by(OutboxItem.last_error)
        .order_by(func.count().desc())
        .limit(20)
    ).all()
    dead = db.session.scalar(select(func.count()).where(OutboxItem.status == "dead")) or 0
    dead_letters = list(
        db.session.scalars(
            select(OutboxItem)
            .where(OutboxItem.status == "dead")
            .order_by(OutboxItem.id.desc())
            .limit(dead_limit)
        )
    )
    return Status(
        connectors=names,
        broken=broken,
        backlog=backlog,
        oldest_pending=oldest,
        failing=[(e or "", n) for e, n in failing],
        dead=dead,
        dead_letters=dead_letters,
        dead_by_error=[(e or "", n) for e, n in dead_by_error],
        delivered_24h=sum(h["count"] for h in delivery_lag(24)),
        lag=delivery_lag(48),
    )


def delivery_lag(hours: int = 48) -> list[dict]:
    """Average and worst seconds from event to delivery, per hour of delivery."""
    now = utcnow()
    since = (now - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    rows = db.session.execute(
        select(OutboxItem.created_at, OutboxItem.delivered_at)
        .where(OutboxItem.status == "delivered", OutboxItem.delivered_at >= since)
        .limit(200_000)
    ).all()
    buckets: dict[datetime, list[float]] = defaultdict(list)
    for created, delivered in rows:
        hour = delivered.replace(minute=0, second=0, microsecond=0)
        buckets[hour].append(max(0.0, (delivered - created).total_seconds()))
    series = []
    hour = since
    while hour <= now:
        lags = buckets.get(hour, [])
        series.append(
            {
                "hour": _iso(hour),
                "avg_seconds": round(sum(lags) / len(lags), 2) if lags else None,
                "max_seconds": round(max(lags), 2) if lags else None,
                "count": len(lags),
            }
        )
        hour += timedelta(hours=1)
    return series


def replay_dead(ids=None) -> int:
    """Dead letters back to pending, as new (all of them, or the given ids)."""
    query = update(OutboxItem).where(OutboxItem.status == "dead")
    if ids is not None:
        ids = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
        if not ids:
            return 0
        query = query.where(OutboxItem.id.in_(ids))
    count = db.session.execute(
        query.values(status="pending", attempts=0, next_attempt_at=utcnow(), claimed_until=None),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.commit()
    return count


def pending_count() -> int:
    return db.session.scalar(select(func.count()).where(OutboxItem.status == "pending")) or 0
