"""The help flow's use cases: a customer confirms a solution (a deflected case),
or still needs help and opens a support case; staff see what that saved.

Like services.py: validate, load, ask the access policy, write in one
transaction, commit, then send the event. Views pass the acting member and
what they know about the caller (visitor key, user agent, whether the page's
script sent its token); the rules about what counts live here.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import access, events, services
from .errors import Invalid, NotFound
from .extensions import db
from .models import CASE_STATUSES, Deflection, Member, Post, Space, SupportCase, Thread, utcnow

log = logging.getLogger(__name__)

QUERY_MAX = 500
SUBJECT_MIN, SUBJECT_MAX = 5, 200
DESCRIPTION_MAX = 5000
REPORT_DAYS_MAX = 366 * 5
TOP_SOLUTIONS = 10
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread

# Crawlers, link previewers, monitors and HTTP libraries: their "clicks" are not customers.
KNOWN_ROBOTS = re.compile(
    r"bot\b|crawl|spider|slurp|archiver|curl/|wget/|python-requests|python-urllib|httpx|"
    r"aiohttp|go-http-client|java/|okhttp|libwww|lwp-|scrapy|facebookexternalhit|"
    r"embedly|quora link preview|whatsapp|pingdom|uptimerobot|phantomjs|mediapartners|"
    r"bingpreview|yahoo! slurp|feedfetcher|httpclient",
    re.IGNORECASE,
)


def looks_like_robot(user_agent: str | None) -> bool:
    """No user agent at all, or one that names a known crawler or HTTP library."""
    return not user_agent or not user_agent.strip() or bool(KNOWN_ROBOTS.search(user_agent))


def _member(member) -> Member | None:
    return member if getattr(member, "is_authenticated", False) else None


def _visible_thread(thread_id, viewer, errors: dict, field: str = "thread_id") -> Thread | None:
    if thread_id is None or thread_id == "":
        return None
    if isinstance(thread_id, str) and thread_id.strip().isdigit():
        thread_id = int(thread_id.strip())
    if not isinstance(thread_id, int) or isinstance(thread_id, bool):
        errors[field] = "Must be a thread id."
        return None
    if not 0 < thread_id <= 2**63 - 1:
        raise NotFound("No such thread.")
    thread = db.session.get(Thread, thread_id)
    if not access.can_view_thread(viewer, thread):
        raise NotFound("No such thread.")
    return thread


# ---- deflections --------------------------------------------------------------


@dataclass
class Confirmation:
    """What became of a "this solved my problem"."""

    thread: Thread
    counted: bool
    reason: str | None  # None when counted; "duplicate" or "robot" otherwise
    deflection: Deflection | None


def confirm_solution(
    thread_id,
    query,
    *,
    by,
    visitor_key: str,
    user_agent: str | None,
    scripted: bool,
    at: datetime | None = None,
) -> Confirmation:
    """A customer says a thread solved their problem. It counts as a deflected
    case once per customer (member, or browser session for visitors), thread and
    UTC day, and only when it came from a person: the page's script sent its
    token (``scripted``) and the user agent is not a known robot. ``at`` is for
    imports and the demo."""
    member = _member(by)
    errors: dict = {}
    query = services.checked_text(query, "query", errors, minimum=1, maximum=QUERY_MAX)
    if thread_id is None or thread_id == "":
        errors["thread_id"] = "Required."
    thread = _visible_thread(thread_id, member, errors)
    services.raise_if_invalid(errors)
    assert thread is not None
    if not scripted or looks_like_robot(user_agent):
        return Confirmation(thread, counted=False, reason="robot", deflection=None)
    moment = at or utcnow()
    day = moment.date().isoformat()
    key = f"m:{member.id}" if member else visitor_key
    seen = db.session.scalar(
        select(Deflection).where(
            Deflection.visitor_key == key, Deflection.thread_id == thread.id, Deflection.day == day
        )
    )
    if seen is not None:
        return Confirmation(thread, counted=False, reason="duplicate", deflection=seen)
    deflection = Deflection(
        thread_id=thread.id,
        member_id=member.id if member else None,
        visitor_key=key,
        query=query,
        day=day,
        created_at=moment,
    )
    try:
        with db.session.begin_nested():
            db.session.add(deflection)
    except IntegrityError:  # the same customer's other tab, at the same moment
        return Confirmation(thread, counted=False, reason="duplicate", deflection=None)
    sent = events.record(
        events.case_deflected, deflection, thread=thread, member=member, query=query
    )
    db.session.commit()
    sent()
    return Confirmation(thread, counted=True, reason=None, deflection=deflection)


# ---- support cases ------------------------------------------------------------


def _reference() -> str:
    return "CASE-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def open_case(
    subject,
    description,
    email=None,
    *,
    by,
    visitor_key: str,
    query="",
    thread_id=None,
    at: datetime | None = None,
) -> SupportCase:
    """Still need help: a support case, pending until the CRM bridge creates it
    in the CRM. Visitors give a contact e-mail address; members are contacted at
    theirs unless they give another."""
    member = _member(by)
    errors: dict = {}
    subject = services.checked_text(
        subject, "subject", errors, minimum=SUBJECT_MIN, maximum=SUBJECT_MAX
    )
    description = services.checked_text(
        description, "description", errors, minimum=1, maximum=DESCRIPTION_MAX
    )
    query = services.checked_text(query, "query", errors, minimum=0, maximum=QUERY_MAX)
    contact = ""
    if isinstance(email, str) and email.strip():
        try:
            contact = validate_email(email.strip(), check_deliverability=False).normalized
        except EmailNotValidError as error:
            errors["email"] = str(error)
    elif email not in (None, ""):
        errors["email"] = "Must be an e-mail address."
    elif member is not None:
        contact = member.email
    else:
        errors["email"] = "Required, so that support can answer you."
    try:
        thread = _visible_thread(thread_id, member, errors)
    except NotFound:
        thread = None  # a case is never refused for the page it came from
    services.raise_if_invalid(errors)
    for _attempt in range(5):
        case = SupportCase(
            reference=_reference(),
            member_id=member.id if member else None,
            visitor_key=f"m:{member.id}" if member else visitor_key,
            email=contact,
            subject=subject,
            description=description,
            query=query,
            thread_id=thread.id if thread else None,
            status="pending_sync",
            created_at=at or utcnow(),
        )
        try:
            with db.session.begin_nested():
                db.session.add(case)
        except IntegrityError:  # a reference drawn twice: draw again
            continue
        break
    else:  # pragma: no cover - 32^8 references
        raise Invalid("Could not open the case; try again.")
    sent = events.record(events.case_escalated, case, member=member, thread=thread)
    db.session.commit()
    sent()
    return case


# ---- listening: support escalates a community thread for a customer -------------


def escalate_thread(
    thread: Thread, member: Member, *, by: Member, subject, description
) -> SupportCase:
    """A support agent opens a case for a customer about a community thread (an
    at-risk conversation, say). Like a case the customer opens, it waits as
    pending_sync until the CRM bridge creates it in the CRM."""
    access.require(
        access.can_work_support_queue(by), message="Only support agents escalate threads."
    )
    access.require_visible(by, thread)
    errors: dict = {}
    subject = services.checked_text(
        subject, "subject", errors, minimum=SUBJECT_MIN, maximum=SUBJECT_MAX
    )
    description = services.checked_text(
        description, "description", errors, minimum=1, maximum=DESCRIPTION_MAX
    )
    services.raise_if_invalid(errors)
    for _attempt in range(5):
        case = SupportCase(
            reference=_reference(),
            member_id=member.id,
            visitor_key=f"m:{member.id}",
            email=member.email,
            subject=subject,
            description=description,
            query="",
            thread_id=thread.id,
            status="pending_sync",
            created_at=utcnow(),
        )
        try:
            with db.session.begin_nested():
                db.session.add(case)
        except IntegrityError:  # a reference drawn twice: draw again
            continue
        break
    else:  # pragma: no cover - 32^8 references
        raise Invalid("Could not open the case; try again.")
    sent = events.record(events.case_escalated, case, member=member, thread=thread)
    db.session.commit()
    sent()
    return case


def get_case(reference, viewer, visitor_key: str) -> SupportCase:
    """The customer who opened a case (or support staff) may look at it; for
    anyone else it does not exist."""
    case = None
    if isinstance(reference, str) and len(reference) <= 20:
        case = db.session.scalar(
            select(SupportCase).where(SupportCase.reference == reference.upper())
        )
    member = _member(viewer)
    if case is None:
        raise NotFound("No such case.")
    own = (member is not None and case.member_id == member.id) or (
        member is None and case.visitor_key == visitor_key
    )
    if not own and not access.can_view_support_analytics(member):
        raise NotFound("No such case.")
    return case


# ---- for the CRM bridge: the case's status as the CRM reports it -----------------


def set_case_status(case: SupportCase, status: str) -> SupportCase:
    """The CRM created the case or changed its status (the bridge calls this)."""
    if status not in CASE_STATUSES:
        raise Invalid(f"Unknown case status {str(status)[:20]!r}.")
    if case.status != status:
        case.status = status
        db.session.commit()
    return case


def solutions(thread_ids: list[int], viewer) -> dict[int, Post]:
    """The accepted answers of these threads that the viewer may see, by thread id."""
    if not thread_ids:
        return {}
    posts = db.session.scalars(
        select(Post)
        .join(Thread, Thread.accepted_post_id == Post.id)
        .where(
            Thread.id.in_(thread_ids),
            access.visible_thread_filter(viewer),
            access.visible_post_filter(viewer),
        )
    )
    return {post.thread_id: post for post in posts}


# ---- analytics ------------------------------------------------------------------


def cost_per_case() -> Decimal:
    raw = current_app.config["DEFLECTION_COST_PER_CASE"]
    try:
        value = Decimal(str(raw)).quantize(Decimal("0.01"))
        if value.is_finite() and value >= 0:
            return value
    except (InvalidOperation, ValueError):
        pass
    log.error("DEFLECTION_COST_PER_CASE=%r is not an amount; using 15.00", raw)
    return Decimal("15.00")


@dataclass
class SpaceFigure:
    space: Space
    deflected: int
    savings: Decimal


@dataclass
class SolutionFigure:
    thread: Thread
    deflected: int
    savings: Decimal


@dataclass
class DayFigure:
    day: date
    deflected: int
    escalated: int


@dataclass
class DeflectionReport:
    start: date
    end: date
    currency: str
    deflected: int
    escalated: int
    deflection_rate: float
    cost_per_case: Decimal
    savings: Decimal
    by_space: list[SpaceFigure]
    top_solutions: list[SolutionFigure]
    by_day: list[DayFigure]


def default_period(today: date | None = None) -> tuple[date, date]:
    end = today or utcnow().date()
    return end - timedelta(days=29), end


def deflection_report(viewer, start: date, end: date) -> DeflectionReport:
    """Deflections and escalations between two UTC dates (inclusive), what they
    saved, and where. Like every figure staff see (docs/metrics.md), it counts only
    deflections on threads the viewer may see, and cases opened from no thread or
    from one they may see; admins see everything."""
    access.require(
        access.can_view_support_analytics(viewer), message="Only staff see deflection analytics."
    )
    if end < start:
        raise Invalid("The period ends before it starts.", fields={"to": "Before from."})
    if (end - start).days >= REPORT_DAYS_MAX:
        raise Invalid("At most five years at a time.", fields={"from": "Too far back."})
    first, last = start.isoformat(), end.isoformat()
    since = datetime.combine(start, datetime.min.time())
    until = datetime.combine(end + timedelta(days=1), datetime.min.time())
    # Visibility is checked on the joined thread row (cheaper than an IN over every
    # visible thread's id); cases without a thread count for everyone.
    visible = access.visible_thread_filter(viewer)
    in_period = Deflection.day.between(first, last)
    by_thread = Thread.id == Deflection.thread_id
    case_visible = SupportCase.thread_id.is_(None) | visible
    case_thread = Thread.id == SupportCase.thread_id
    cost = cost_per_case()

    deflected = (
        db.session.scalar(
            select(func.count(Deflection.id)).join(Thread, by_thread).where(in_period, visible)
        )
        or 0
    )
    escalated = (
        db.session.scalar(
            select(func.count(SupportCase.id))
            .outerjoin(Thread, case_thread)
            .where(SupportCase.created_at >= since, SupportCase.created_at < until, case_visible)
        )
        or 0
    )
    count = func.count(Deflection.id)
    by_space = [
        SpaceFigure(space, n, cost * n)
        for space, n in db.session.execute(
            select(Space, count)
            .join(Thread, Thread.space_id == Space.id)
            .join(Deflection, Deflection.thread_id == Thread.id)
            .where(in_period, visible)
            .group_by(Space.id)
            .order_by(count.desc(), Space.position, Space.id)
        )
    ]
    top = [
        SolutionFigure(thread, n, cost * n)
        for thread, n in db.session.execute(
            select(Thread, count)
            .join(Deflection, Deflection.thread_id == Thread.id)
            .where(in_period, access.visible_thread_filter(viewer))
            .group_by(Thread.id)
            .order_by(count.desc(), Thread.id)
            .limit(TOP_SOLUTIONS)
        )
    ]
    per_day = dict(
        db.session.execute(
            select(Deflection.day, count)
            .join(Thread, by_thread)
            .where(in_period, visible)
            .group_by(Deflection.day)
        ).all()
    )
    case_day = func.date(SupportCase.created_at)
    cases_per_day = {
        str(day)[:10]: n
        for day, n in db.session.execute(
            select(case_day, func.count(SupportCase.id))
            .outerjoin(Thread, case_thread)
            .where(SupportCase.created_at >= since, SupportCase.created_at < until, case_visible)
            .group_by(case_day)
        )
    }
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    by_day = [
        DayFigure(d, per_day.get(d.isoformat(), 0), cases_per_day.get(d.isoformat(), 0))
        for d in days
    ]
    handled = deflected + escalated
    return DeflectionReport(
        start=start,
        end=end,
        currency=current_app.config["CURRENCY"],
        deflected=deflected,
        escalated=escalated,
        deflection_rate=round(deflected / handled, 4) if handled else 0.0,
        cost_per_case=cost,
        savings=cost * deflected,
        by_space=by_space,
        top_solutions=top,
        by_day=by_day,
    )


def parse_day(value, field: str) -> date | None:
    """A YYYY-MM-DD date from a query string, None when absent; Invalid otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if 1970 <= day.year <= 9000:
                return day
    raise Invalid(f"{field} must be a date like 2026-11-23.", fields={field: "Not a date."})
