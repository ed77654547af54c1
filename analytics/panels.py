"""The panel registry: each panel is a function (viewer, period) -> Panel, read
from the other domains' tables with SQL aggregation only. The same Panel feeds
the HTML dashboard, the JSON API and the CSV export. Definitions: docs/metrics.md.

Visibility: every count goes through community.access's SQL filters for the
viewer (admins see everything), so private spaces and hidden content never add
to a figure a viewer may not see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, case, false, func, literal, or_, select, true, union, union_all

from advisory.models import Committee
from community import access, help
from community.errors import Invalid, NotAllowed
from community.extensions import db
from community.models import (
    STAFF_ROLES,
    Deflection,
    Kudos,
    Member,
    MemberRole,
    Post,
    Space,
    SupportCase,
    Thread,
    utcnow,
)
from crm_bridge.models import OutboxItem
from ideas.models import Demand, Idea, StatusChange, Vote
from ideas.services import visible_idea_filter
from moderation.listening.models import Alert, Sentiment
from reputation import analytics as reputation

from . import services
from .models import EngagementSnapshot

LEVELS = ("aware", "engaged", "committed", "advocate")
REPORT_DAYS_MAX = 366 * 5


# ---- the period and segment filter -------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    segment: str | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, datetime.min.time())

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), datetime.min.time())

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def contains(self, column):
        return and_(column >= self.since, column < self.until)

    def members(self, column):
        """Rows by members of the chosen segment (anyone when no segment is chosen)."""
        if not self.segment:
            return true()
        return column.in_(select(Member.id).where(Member.segment == self.segment))


def segments() -> list[str]:
    """The segments members carry (from the CRM), for the filter."""
    column = Member.segment
    query = select(column).where(column.is_not(None), column != "").distinct().order_by(column)
    return list(db.session.scalars(query))


def parse_period(args) -> Period:
    """from / to (YYYY-MM-DD, UTC, inclusive; the last 30 days by default) and segment."""
    start, end = help.default_period()
    start = help.parse_day(args.get("from"), "from") or start
    end = help.parse_day(args.get("to"), "to") or end
    if end < start:
        raise Invalid("The period ends before it starts.", fields={"to": "Before from."})
    if (end - start).days >= REPORT_DAYS_MAX:
        raise Invalid("At most five years at a time.", fields={"from": "Too far back."})
    segment = args.get("segment") or None
    if segment is not None and segment not in segments():
        raise Invalid("No members are in that segment.", fields={"segment": "Unknown segment."})
    return Period(start, end, segment)


# ---- the registry ---------------------------------------------------------------------


@dataclass
class Panel:
    name: str
    title: str
    period: Period
    # The panel's figures (flat name -> number) and any panel-specific JSON fields.
    data: dict
    charts: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "panel": self.name,
            "title": self.title,
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "segment": self.period.segment,
            **self.data,
            "charts": self.charts,
        }

    def csv_rows(self) -> list[list]:
        """section, key, field, value: figures, tables (lists of rows) and chart series."""
        rows: list[list] = [["section", "key", "field", "value"]]

        def walk(prefix: str, value) -> None:
            if isinstance(value, dict):
                for key, inner in value.items():
                    walk(f"{prefix}.{key}" if prefix else key, inner)
            elif isinstance(value, list):
                for number, item in enumerate(value, 1):
                    if isinstance(item, dict):
                        for key, inner in item.items():
                            if not isinstance(inner, dict | list):
                                rows.append([prefix, number, key, inner])
            else:
                rows.append(["figure", prefix, "", value])

        walk("", self.data)
        for chart in self.charts:
            for dataset in chart["datasets"]:
                for label, value in zip(chart["labels"], dataset["data"], strict=True):
                    rows.append([f"chart:{chart['id']}", label, dataset["label"], value])
        return rows


@dataclass(frozen=True)
class PanelSpec:
    name: str
    title: str
    build: Callable[[object, Period], tuple[dict, list[dict]]]


PANELS: dict[str, PanelSpec] = {}


def panel(name: str, title: str):
    def register(build):
        PANELS[name] = PanelSpec(name, title, build)
        return build

    return register


def build(name: str, viewer, period: Period) -> Panel:
    """One panel for one viewer: the single code path behind page, JSON and CSV."""
    if not services.can_view_dashboard(viewer):
        raise NotAllowed("Only the roles an admin chose see analytics.")
    spec = PANELS[name]
    data, charts = spec.build(viewer, period)
    return Panel(name, spec.title, period, data, charts)


# ---- shared SQL helpers ----------------------------------------------------------------


def seconds_between(later, earlier):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _hours(seconds) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 2)


def percentiles(query, sizes: dict | None = None) -> dict:
    """Median and 90th percentile (nearest rank) of ``secs`` per ``key``, in hours,
    picked in SQL by row number: query selects columns labelled key and secs.
    ``sizes``, when given, receives how many durations each key had."""
    sizes = {} if sizes is None else sizes
    sq = query.subquery()
    rank = func.row_number().over(partition_by=sq.c.key, order_by=sq.c.secs).label("rn")
    size = func.count().over(partition_by=sq.c.key).label("n")
    ranked = select(sq.c.key, sq.c.secs, rank, size).subquery()
    median_rank = (ranked.c.n + 1) // 2
    p90_rank = (ranked.c.n * 9 + 9) // 10
    rows = db.session.execute(
        select(ranked.c.key, ranked.c.rn, ranked.c.n, ranked.c.secs).where(
            or_(ranked.c.rn == median_rank, ranked.c.rn == p90_rank)
        )
    )
    result: dict = {}
    for key, rn, n, secs in rows:
        median, p90 = result.get(key, (None, None))
        if rn == (n + 1) // 2:
            median = _hours(secs)
        if rn == (n * 9 + 9) // 10:
            p90 = _hours(secs)
        result[key] = (median, p90)
        sizes[key] = n
    return result


def share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def money(value) -> float:
    return float(Decimal(value or 0).quantize(Decimal("0.01")))


def day_key(value) -> str:
    return str(value)[:10]


def per_day(query) -> dict[str, int]:
    """(day, count) rows -> {"YYYY-MM-DD": count}."""
    return {day_key(day): int(n or 0) for day, n in db.session.execute(query)}


def line(chart_id: str, title: str, labels: list, series: dict, kind: str = "line") -> dict:
    return {
        "id": chart_id,
        "title": title,
        "type": kind,
        "labels": labels,
        "datasets": [{"label": label, "data": data} for label, data in series.items()],
    }


def is_staff(member_column):
    return (
        select(MemberRole.id)
        .where(MemberRole.member_id == member_column, MemberRole.role.in_(STAFF_ROLES))
        .exists()
    )


# ---- support ---------------------------------------------------------------------------


# The visibility filter applies to the joined thread row: cheaper than an IN over
# every visible thread's id.
def _deflections(viewer, period: Period):
    return (
        select(Deflection.id, Deflection.thread_id, Deflection.day, Thread.space_id)
        .join(Thread, Thread.id == Deflection.thread_id)
        .where(
            Deflection.day.between(period.start.isoformat(), period.end.isoformat()),
            access.visible_thread_filter(viewer),
            period.members(Deflection.member_id),
        )
    )


def _cases(viewer, period: Period):
    return (
        select(SupportCase.id, SupportCase.created_at)
        .outerjoin(Thread, Thread.id == SupportCase.thread_id)
        .where(
            period.contains(SupportCase.created_at),
            or_(SupportCase.thread_id.is_(None), access.visible_thread_filter(viewer)),
            period.members(SupportCase.member_id),
        )
    )


def support_figures(viewer, period: Period) -> dict:
    """Deflected and escalated cases and savings (shared with the return panel)."""
    deflected = db.session.scalar(
        select(func.count()).select_from(_deflections(viewer, period).subquery())
    )
    escalated = db.session.scalar(
        select(func.count()).select_from(_cases(viewer, period).subquery())
    )
    cost = help.cost_per_case()
    return {
        "deflected": deflected or 0,
        "escalated": escalated or 0,
        "deflection_rate": share(deflected or 0, (deflected or 0) + (escalated or 0)),
        "cost_per_case": money(cost),
        "savings": money(cost * (deflected or 0)),
    }


@panel("support", "Support")
def support(viewer, period: Period):
    questions = (
        select(Thread.id, Thread.space_id, Thread.author_id, Thread.created_at)
        .where(
            Thread.kind == "question",
            Thread.merged_into_id.is_(None),
            Thread.embed_url.is_(None),
            access.visible_thread_filter(viewer),
            period.contains(Thread.created_at),
            period.members(Thread.author_id),
        )
        .subquery()
    )
    # The first reply by someone other than the asker that is not hidden.
    first = (
        select(Post.thread_id.label("thread_id"), func.min(Post.number).label("number"))
        .join(questions, questions.c.id == Post.thread_id)
        .where(Post.number > 0, Post.is_hidden == false(), Post.author_id != questions.c.author_id)
        .group_by(Post.thread_id)
        .subquery()
    )
    first_reply = (
        select(
            questions.c.id,
            questions.c.space_id,
            questions.c.created_at,
            Post.created_at.label("replied_at"),
            Post.author_id.label("replier_id"),
        )
        .join(first, first.c.thread_id == questions.c.id)
        .join(Post, and_(Post.thread_id == first.c.thread_id, Post.number == first.c.number))
        .subquery()
    )
    accepted = (
        select(
            questions.c.id,
            questions.c.space_id,
            seconds_between(Post.created_at, questions.c.created_at).label("secs"),
        )
        .join(Thread, Thread.id == questions.c.id)
        .join(Post, Post.id == Thread.accepted_post_id)
        .subquery()
    )
    total = db.session.scalar(select(func.count()).select_from(questions)) or 0
    answered, by_staff = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((is_staff(first_reply.c.replier_id), 1), else_=0)), 0),
        ).select_from(first_reply)
    ).one()
    solved = db.session.scalar(select(func.count()).select_from(accepted)) or 0
    reply_times = percentiles(
        select(
            literal(0).label("key"),
            seconds_between(first_reply.c.replied_at, first_reply.c.created_at).label("secs"),
        )
    ).get(0, (None, None))
    accept_times = percentiles(select(literal(0).label("key"), accepted.c.secs.label("secs"))).get(
        0, (None, None)
    )
    money_figures = support_figures(viewer, period)
    figures = {
        "questions": total,
        "answered": answered,
        "solved": solved,
        "answered_share": share(answered, total),
        "solved_share": share(solved, total),
        "answered_by_peers": answered - by_staff,
        "answered_by_staff": by_staff,
        "peer_share": share(answered - by_staff, answered),
        **money_figures,
        "first_reply_median_hours": reply_times[0],
        "first_reply_p90_hours": reply_times[1],
        "accepted_answer_median_hours": accept_times[0],
        "accepted_answer_p90_hours": accept_times[1],
    }

    # By space: questions, answered, solved and deflected, in spaces the viewer sees.
    def grouped(query) -> dict[int, int]:
        return {k: int(v or 0) for k, v in db.session.execute(query)}

    asked = grouped(select(questions.c.space_id, func.count()).group_by(questions.c.space_id))
    replied = grouped(select(first_reply.c.space_id, func.count()).group_by(first_reply.c.space_id))
    solved_in = grouped(select(accepted.c.space_id, func.count()).group_by(accepted.c.space_id))
    deflections = _deflections(viewer, period).subquery()
    deflected_in = grouped(
        select(deflections.c.space_id, func.count()).group_by(deflections.c.space_id)
    )
    ids = set(asked) | set(deflected_in)
    spaces = db.session.scalars(
        select(Space).where(Space.id.in_(ids)).order_by(Space.position, Space.id)
    )
    by_space = [
        {
            "id": s.id,
            "slug": s.slug,
            "name": s.name,
            "questions": asked.get(s.id, 0),
            "answered": replied.get(s.id, 0),
            "solved": solved_in.get(s.id, 0),
            "deflected": deflected_in.get(s.id, 0),
        }
        for s in spaces
    ]

    day = func.date(questions.c.created_at)
    asked_by_day = per_day(select(day, func.count()).group_by(day))
    deflected_by_day = per_day(select(deflections.c.day, func.count()).group_by(deflections.c.day))
    cases = _cases(viewer, period).subquery()
    case_day = func.date(cases.c.created_at)
    cases_by_day = per_day(select(case_day, func.count()).group_by(case_day))
    labels = [d.isoformat() for d in period.days]
    charts = [
        line(
            "support-over-time",
            "Questions, deflected and escalated cases per day",
            labels,
            {
                "Questions": [asked_by_day.get(d, 0) for d in labels],
                "Deflected": [deflected_by_day.get(d, 0) for d in labels],
                "Escalated": [cases_by_day.get(d, 0) for d in labels],
            },
        ),
        line(
            "support-by-space",
            "Questions by space",
            [s["name"] for s in by_space],
            {
                "Questions": [s["questions"] for s in by_space],
                "Answered": [s["answered"] for s in by_space],
                "Solved": [s["solved"] for s in by_space],
                "Deflected": [s["deflected"] for s in by_space],
            },
            "bar",
        ),
    ]
    return {
        "currency": current_app.config["CURRENCY"],
        "figures": figures,
        "by_space": by_space,
    }, charts


# ---- deflection (the help flow's report) ---------------------------------------------


@panel("deflection", "Deflection")
def deflection(viewer, period: Period):
    from flask import url_for

    report = help.deflection_report(viewer, period.start, period.end)
    data = {
        "currency": report.currency,
        "deflected": report.deflected,
        "escalated": report.escalated,
        "deflection_rate": report.deflection_rate,
        "cost_per_case": money(report.cost_per_case),
        "savings": money(report.savings),
        "figures": {
            "deflected": report.deflected,
            "escalated": report.escalated,
            "deflection_rate": report.deflection_rate,
            "savings": money(report.savings),
        },
        "by_space": [
            {
                "id": f.space.id,
                "url": url_for("community.space", slug=f.space.slug, _external=True),
                "slug": f.space.slug,
                "name": f.space.name,
                "deflected": f.deflected,
                "savings": money(f.savings),
            }
            for f in report.by_space
        ],
        "top_solutions": [
            {
                "id": f.thread.id,
                "url": url_for("community.thread", thread_id=f.thread.id, _external=True),
                "title": f.thread.title,
                "space": f.thread.space.slug,
                "deflected": f.deflected,
                "savings": money(f.savings),
            }
            for f in report.top_solutions
        ],
        "by_day": [
            {"date": f.day.isoformat(), "deflected": f.deflected, "escalated": f.escalated}
            for f in report.by_day
        ],
    }
    labels = [f.day.isoformat() for f in report.by_day]
    charts = [
        line(
            "deflection-over-time",
            "Deflected and escalated cases per day",
            labels,
            {
                "Deflected": [f.deflected for f in report.by_day],
                "Escalated": [f.escalated for f in report.by_day],
            },
        )
    ]
    return data, charts


# ---- participation ---------------------------------------------------------------------


def _snapshot_day(on_or_before: date) -> date | None:
    return db.session.scalar(
        select(func.max(EngagementSnapshot.day)).where(EngagementSnapshot.day <= on_or_before)
    )


def engagement_at(day: date | None, period: Period) -> dict[str, int]:
    counts = dict.fromkeys(LEVELS, 0)
    if day is None:
        # Before the first snapshot: the levels as they stand now (reputation computes them).
        ids = None
        if period.segment:
            ids = list(db.session.scalars(select(Member.id).where(period.members(Member.id))))
        for level in reputation.engagement_levels(ids).values():
            counts[level] += 1
        return counts
    query = (
        select(EngagementSnapshot.level, func.count())
        .where(EngagementSnapshot.day == day, period.members(EngagementSnapshot.member_id))
        .group_by(EngagementSnapshot.level)
    )
    for level, n in db.session.execute(query):
        if level in counts:
            counts[level] = n
    return counts


def movements(start_day: date | None, end_day: date | None, period: Period) -> list[dict]:
    """Members whose level differs between two snapshots, per (from, to) pair."""
    if start_day is None or end_day is None or start_day == end_day:
        return []
    before = EngagementSnapshot.__table__.alias("before")
    after = EngagementSnapshot.__table__.alias("after")
    query = (
        select(before.c.level, after.c.level, func.count())
        .join(after, after.c.member_id == before.c.member_id)
        .where(
            before.c.day == start_day,
            after.c.day == end_day,
            before.c.level != after.c.level,
            period.members(before.c.member_id),
        )
        .group_by(before.c.level, after.c.level)
    )
    rank = {level: n for n, level in enumerate(LEVELS)}
    moves = [
        {"from": a, "to": b, "members": n, "direction": "up" if rank[b] > rank[a] else "down"}
        for a, b, n in db.session.execute(query)
        if a in rank and b in rank
    ]
    return sorted(moves, key=lambda m: (LEVELS.index(m["from"]), LEVELS.index(m["to"])))


@panel("participation", "Participation")
def participation(viewer, period: Period):
    threads_ok = access.visible_thread_filter(viewer)
    ideas_ok = visible_idea_filter(viewer)
    members = select(Member.id).where(Member.created_at < period.until, period.members(Member.id))
    # One pass over the period's activity: per member, whether they created anything.
    made = literal(1).label("created")
    reacted = literal(0).label("created")
    activity = union_all(
        select(Thread.author_id.label("m"), made).where(
            threads_ok, period.contains(Thread.created_at)
        ),
        select(Idea.author_id.label("m"), made).where(ideas_ok, period.contains(Idea.created_at)),
        select(Post.author_id.label("m"), reacted)
        .join(Thread, Thread.id == Post.thread_id)
        .where(Post.number > 0, threads_ok, period.contains(Post.created_at)),
        select(Kudos.member_id.label("m"), reacted)
        .join(Post, Post.id == Kudos.post_id)
        .join(Thread, Thread.id == Post.thread_id)
        .where(threads_ok, period.contains(Kudos.created_at)),
        select(Vote.member_id.label("m"), reacted)
        .join(Idea, Idea.id == Vote.idea_id)
        .where(ideas_ok, period.contains(Vote.created_at)),
    ).subquery()
    per_member = (
        select(activity.c.m, func.max(activity.c.created).label("created"))
        .where(activity.c.m.in_(members))
        .group_by(activity.c.m)
        .subquery()
    )
    total = db.session.scalar(select(func.count()).select_from(members.subquery())) or 0
    new = (
        db.session.scalar(
            select(func.count(Member.id)).where(
                period.contains(Member.created_at), period.members(Member.id)
            )
        )
        or 0
    )
    active, n_creators = db.session.execute(
        select(func.count(), func.coalesce(func.sum(per_member.c.created), 0))
    ).one()
    n_contributors = active - n_creators
    readers = total - n_creators - n_contributors
    start_day, end_day = _snapshot_day(period.start), _snapshot_day(period.end)
    engagement = engagement_at(end_day, period)
    moves = movements(start_day, end_day, period)
    day = func.date(Post.created_at)
    active_by_day = per_day(
        select(day, func.count(func.distinct(Post.author_id)))
        .join(Thread, Thread.id == Post.thread_id)
        .where(threads_ok, period.contains(Post.created_at), period.members(Post.author_id))
        .group_by(day)
    )
    joined_day = func.date(Member.created_at)
    joined_by_day = per_day(
        select(joined_day, func.count(Member.id))
        .where(period.contains(Member.created_at), period.members(Member.id))
        .group_by(joined_day)
    )
    labels = [d.isoformat() for d in period.days]
    data = {
        "members": total,
        "profile": {
            "readers": {"count": readers, "share": share(readers, total)},
            "contributors": {"count": n_contributors, "share": share(n_contributors, total)},
            "creators": {"count": n_creators, "share": share(n_creators, total)},
        },
        "engagement": engagement,
        "figures": {
            "members": total,
            "active_members": n_creators + n_contributors,
            "new_members": new,
            "readers": readers,
            "contributors": n_contributors,
            "creators": n_creators,
            "moved_up": sum(m["members"] for m in moves if m["direction"] == "up"),
            "moved_down": sum(m["members"] for m in moves if m["direction"] == "down"),
        },
        "snapshots": {
            "start": start_day.isoformat() if start_day else None,
            "end": end_day.isoformat() if end_day else None,
        },
        "movements": moves,
    }
    charts = [
        line(
            "participation-profile",
            "90-9-1: readers, contributors, creators",
            ["Readers", "Contributors", "Creators"],
            {"Members": [readers, n_contributors, n_creators]},
            "doughnut",
        ),
        line(
            "participation-levels",
            "Engagement levels",
            [level.title() for level in LEVELS],
            {"Members": [engagement[level] for level in LEVELS]},
            "bar",
        ),
        line(
            "participation-over-time",
            "Members posting and joining per day",
            labels,
            {
                "Posting": [active_by_day.get(d, 0) for d in labels],
                "Joined": [joined_by_day.get(d, 0) for d in labels],
            },
        ),
    ]
    return data, charts


# ---- people ------------------------------------------------------------------------------

TOP_PEOPLE = 10
AT_RISK_POOL = 20  # "high social value": the top of the ranking
RISK_WINDOW_DAYS = 30


def _ranked_by_social_value(period: Period, limit: int) -> list[dict]:
    """Members by social value, with its breakdown: from the latest snapshot at or
    before the period's end (an index read), or computed now by reputation before
    the first snapshot."""
    day = _snapshot_day(period.end)
    if day is not None:
        snap = EngagementSnapshot
        query = (
            select(snap)
            .where(snap.day == day, snap.social_value > 0, period.members(snap.member_id))
            .order_by(snap.social_value.desc(), snap.member_id)
            .limit(limit)
        )
        return [
            {
                "member_id": row.member_id,
                "social_value": row.social_value,
                "engagement_level": row.level,
                **{name: getattr(row, name) for name in services.BREAKDOWN},
            }
            for row in db.session.scalars(query)
        ]
    ids = None
    if period.segment:
        ids = list(db.session.scalars(select(Member.id).where(period.members(Member.id))))
    values = reputation.social_values(ids).values()
    ranked = sorted(
        (v for v in values if v.social_value > 0), key=lambda v: (-v.social_value, v.member_id)
    )
    return [
        {
            "member_id": v.member_id,
            "social_value": v.social_value,
            "engagement_level": v.engagement_level,
            **{name: getattr(v, name) for name in services.BREAKDOWN},
        }
        for v in ranked[:limit]
    ]


def _visible_activity(viewer, period: Period):
    """Member ids who posted, gave kudos or voted, where the viewer may see it."""
    threads_ok = access.visible_thread_filter(viewer)
    return union(
        select(Post.author_id.label("m"))
        .join(Thread, Thread.id == Post.thread_id)
        .where(threads_ok, period.contains(Post.created_at)),
        select(Kudos.member_id.label("m"))
        .join(Post, Post.id == Kudos.post_id)
        .join(Thread, Thread.id == Post.thread_id)
        .where(threads_ok, period.contains(Kudos.created_at)),
        select(Vote.member_id.label("m"))
        .join(Idea, Idea.id == Vote.idea_id)
        .where(visible_idea_filter(viewer), period.contains(Vote.created_at)),
    ).subquery()


@panel("people", "People")
def people(viewer, period: Period):
    ranked = _ranked_by_social_value(period, max(TOP_PEOPLE, AT_RISK_POOL))
    pool = [r["member_id"] for r in ranked]
    names = (
        {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(pool)))}
        if pool
        else {}
    )
    top = [
        {
            "id": r["member_id"],
            "name": names[r["member_id"]].display_name,
            "handle": names[r["member_id"]].handle,
            "segment": names[r["member_id"]].segment,
            **{k: v for k, v in r.items() if k != "member_id"},
            "social_value": money(r["social_value"]),
        }
        for r in ranked[:TOP_PEOPLE]
        if r["member_id"] in names
    ]
    # At risk: visible posts in the last 30 days of the period fewer than half
    # of those in the 30 days before, having posted at least twice then.
    recent_from = datetime.combine(period.end, datetime.min.time()) - timedelta(
        days=RISK_WINDOW_DAYS - 1
    )
    before_from = recent_from - timedelta(days=RISK_WINDOW_DAYS)
    recent = func.sum(case((Post.created_at >= recent_from, 1), else_=0))
    before = func.sum(case((Post.created_at < recent_from, 1), else_=0))
    at_risk = []
    if pool:
        rows = db.session.execute(
            select(Post.author_id, before, recent)
            .join(Thread, Thread.id == Post.thread_id)
            .where(
                Post.author_id.in_(pool),
                access.visible_thread_filter(viewer),
                Post.created_at >= before_from,
                Post.created_at < period.until,
            )
            .group_by(Post.author_id)
        ).all()
        for member_id, was, now in rows:
            if was >= 2 and now * 2 < was and member_id in names:
                at_risk.append(
                    {
                        "id": member_id,
                        "name": names[member_id].display_name,
                        "posts_before": int(was),
                        "posts_recent": int(now),
                    }
                )
        at_risk.sort(key=lambda r: pool.index(r["id"]))  # by social value, as ranked
    # The ten most valuable quiet customers, and (by window) how many and how much in all.
    active = _visible_activity(viewer, period)
    quiet_rows = db.session.execute(
        select(
            Member.id,
            Member.display_name,
            Member.account_name,
            Member.segment,
            Member.customer_value,
            func.count().over().label("n"),
            func.sum(Member.customer_value).over().label("total"),
        )
        .where(
            Member.customer_value > 0,
            Member.banned_at.is_(None),
            period.members(Member.id),
            Member.id.not_in(select(active.c.m)),
        )
        .order_by(Member.customer_value.desc(), Member.id)
        .limit(TOP_PEOPLE)
    ).all()
    quiet_count = quiet_rows[0].n if quiet_rows else 0
    quiet_value = quiet_rows[0].total if quiet_rows else 0
    not_engaged = [
        {
            "id": r.id,
            "name": r.display_name,
            "account": r.account_name,
            "segment": r.segment,
            "customer_value": money(r.customer_value),
        }
        for r in quiet_rows
    ]
    data = {
        "currency": current_app.config["CURRENCY"],
        "figures": {
            "top_social_value": top[0]["social_value"] if top else 0.0,
            "super_users_at_risk": len(at_risk),
            "customers_not_engaged": quiet_count,
            "value_not_engaged": money(quiet_value),
        },
        "top": top,
        "at_risk": at_risk,
        "not_engaged": not_engaged,
    }
    charts = [
        line(
            "people-top",
            "Top members by social value",
            [p["name"] for p in top],
            {"Social value": [p["social_value"] for p in top]},
            "bar",
        ),
        line(
            "people-not-engaged",
            "High-value customers not engaged in the period",
            [p["name"] for p in not_engaged],
            {"Customer value": [p["customer_value"] for p in not_engaged]},
            "bar",
        ),
    ]
    return data, charts


# ---- ideas -------------------------------------------------------------------------------

FUNNEL = ("new", "under_review", "planned", "in_progress", "delivered")
TOP_PER_SEGMENT = 3


@panel("ideas", "Ideas")
def ideas(viewer, period: Period):
    visible = select(Idea.id).where(visible_idea_filter(viewer), Idea.status != "merged")
    submitted = (
        select(Idea.id, Idea.status)
        .where(
            Idea.id.in_(visible), period.contains(Idea.created_at), period.members(Idea.author_id)
        )
        .subquery()
    )
    funnel = []
    for n, status in enumerate(FUNNEL):
        later = FUNNEL[n:]
        reached = or_(
            submitted.c.status.in_(later),
            select(StatusChange.id)
            .where(StatusChange.idea_id == submitted.c.id, StatusChange.to_status.in_(later))
            .exists(),
        )
        if n == 0:
            reached = true()  # every idea starts as new, declined ones too
        count = db.session.scalar(select(func.count()).select_from(submitted).where(reached))
        funnel.append({"status": status, "ideas": count or 0})
    declined = db.session.scalar(
        select(func.count()).select_from(submitted).where(submitted.c.status == "declined")
    )
    # Time in a status: from entering it (the previous change, or submission) to leaving it.
    # Only the history of ideas changed in the period (their earlier changes give "entered").
    changed_in_period = select(StatusChange.idea_id).where(period.contains(StatusChange.created_at))
    history = (
        select(
            StatusChange.idea_id,
            StatusChange.from_status,
            StatusChange.created_at,
            StatusChange.note,
            func.lag(StatusChange.created_at)
            .over(
                partition_by=StatusChange.idea_id,
                order_by=(StatusChange.created_at, StatusChange.id),
            )
            .label("entered_at"),
        )
        .where(StatusChange.idea_id.in_(changed_in_period))
        .subquery()
    )
    changed = (
        select(history, Idea.created_at.label("submitted_at"))
        .join(Idea, Idea.id == history.c.idea_id)
        .where(
            history.c.idea_id.in_(visible),
            period.contains(history.c.created_at),
            period.members(Idea.author_id),
        )
        .subquery()
    )
    entered = func.coalesce(changed.c.entered_at, changed.c.submitted_at)
    counts: dict = {}
    times = percentiles(
        select(
            changed.c.from_status.label("key"),
            seconds_between(changed.c.created_at, entered).label("secs"),
        ),
        counts,
    )
    time_in_status = [
        {
            "status": s,
            "changes": counts.get(s, 0),
            "median_hours": times.get(s, (None, None))[0],
            "p90_hours": times.get(s, (None, None))[1],
        }
        for s in FUNNEL[:-1]
        if s in counts
    ]
    ideas_changed, with_note = db.session.execute(
        select(
            func.count(func.distinct(changed.c.idea_id)),
            func.count(func.distinct(case((changed.c.note != "", changed.c.idea_id)))),
        )
    ).one()
    rank = (
        func.row_number()
        .over(partition_by=Demand.segment, order_by=(Demand.value.desc(), Demand.idea_id))
        .label("rn")
    )
    demand = (
        select(Demand.idea_id, Demand.segment, Demand.votes, Demand.value, rank)
        .where(Demand.idea_id.in_(visible), Demand.votes > 0)
        .where(Demand.segment == period.segment if period.segment else true())
        .subquery()
    )
    top_rows = db.session.execute(
        select(demand, Idea.title, Idea.status)
        .join(Idea, Idea.id == demand.c.idea_id)
        .where(demand.c.rn <= TOP_PER_SEGMENT)
        .order_by(demand.c.segment, demand.c.rn)
    ).all()
    top_demand = [
        {
            "segment": r.segment or "(none)",
            "rank": r.rn,
            "id": r.idea_id,
            "title": r.title,
            "status": r.status,
            "votes": r.votes,
            "value": money(r.value),
        }
        for r in top_rows
    ]
    data = {
        "currency": current_app.config["CURRENCY"],
        "figures": {
            "submitted": funnel[0]["ideas"],
            **{f"reached_{f['status']}": f["ideas"] for f in funnel[1:]},
            "declined": declined or 0,
            "ideas_changed": ideas_changed,
            "changed_with_note": with_note,
            "note_share": share(with_note, ideas_changed),
        },
        "funnel": funnel,
        "time_in_status": time_in_status,
        "top_demand": top_demand,
    }
    charts = [
        line(
            "ideas-funnel",
            "From new to delivered (ideas submitted in the period)",
            [f["status"].replace("_", " ") for f in funnel],
            {"Ideas": [f["ideas"] for f in funnel]},
            "bar",
        ),
        line(
            "ideas-time-in-status",
            "Median hours in each status",
            [t["status"].replace("_", " ") for t in time_in_status],
            {"Median hours": [t["median_hours"] for t in time_in_status]},
            "bar",
        ),
    ]
    return data, charts


# ---- advisory ----------------------------------------------------------------------------


@panel("advisory", "Advisory")
def advisory(viewer, period: Period):
    now = utcnow()
    committees = db.session.execute(
        select(Committee.id, Committee.area_id, Committee.response_days, Space.name)
        .join(Space, Space.id == Committee.space_id)
        .where(Committee.area_id.is_not(None), Space.id.in_(access.visible_space_ids(viewer)))
        .order_by(Space.position, Space.id)
    ).all()
    answered = (
        select(StatusChange.idea_id, func.min(StatusChange.created_at).label("answered_at"))
        .group_by(StatusChange.idea_id)
        .subquery()
    )
    rows, all_ids = [], []
    for committee_id, area_id, days, name in committees:
        suggestions = (
            select(Idea.id, Idea.created_at, answered.c.answered_at)
            .outerjoin(answered, answered.c.idea_id == Idea.id)
            .where(
                Idea.area_id == area_id,
                Idea.status != "merged",
                visible_idea_filter(viewer),
                period.contains(Idea.created_at),
                period.members(Idea.author_id),
            )
            .subquery()
        )
        due_before = now - timedelta(days=days or 30)
        total, acted, overdue = db.session.execute(
            select(
                func.count(),
                func.count(suggestions.c.answered_at),
                func.coalesce(
                    func.sum(
                        case(
                            (
                                and_(
                                    suggestions.c.answered_at.is_(None),
                                    suggestions.c.created_at < due_before,
                                ),
                                1,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                ),
            ).select_from(suggestions)
        ).one()
        response = percentiles(
            select(
                literal(0).label("key"),
                seconds_between(suggestions.c.answered_at, suggestions.c.created_at).label("secs"),
            ).where(suggestions.c.answered_at.is_not(None))
        ).get(0, (None, None))
        rows.append(
            {
                "id": committee_id,
                "name": name,
                "suggestions": total,
                "acted_upon": acted,
                "waiting": total - acted,
                "overdue": int(overdue),
                "response_days": days,
                "median_response_hours": response[0],
            }
        )
        all_ids.append(area_id)
    overall = (None, None)
    if all_ids:
        overall = percentiles(
            select(
                literal(0).label("key"),
                seconds_between(answered.c.answered_at, Idea.created_at).label("secs"),
            )
            .join(answered, answered.c.idea_id == Idea.id)
            .where(
                Idea.area_id.in_(all_ids),
                Idea.status != "merged",
                visible_idea_filter(viewer),
                period.contains(Idea.created_at),
                period.members(Idea.author_id),
            )
        ).get(0, (None, None))
    total = sum(r["suggestions"] for r in rows)
    acted = sum(r["acted_upon"] for r in rows)
    data = {
        "figures": {
            "suggestions": total,
            "acted_upon": acted,
            "waiting": total - acted,
            "overdue": sum(r["overdue"] for r in rows),
            "acted_share": share(acted, total),
            "median_response_hours": overall[0],
            "p90_response_hours": overall[1],
        },
        "committees": rows,
    }
    charts = [
        line(
            "advisory-acted",
            "Suggestions acted upon and waiting, per committee",
            [r["name"] for r in rows],
            {
                "Acted upon": [r["acted_upon"] for r in rows],
                "Waiting": [r["waiting"] for r in rows],
            },
            "bar",
        )
    ]
    return data, charts


# ---- listening ---------------------------------------------------------------------------

NEGATIVE = -0.05  # VADER's own line between neutral and negative


@panel("listening", "Listening")
def listening(viewer, period: Period):
    spaces = access.visible_space_ids(viewer)
    scored = (
        select(Sentiment.compound, Sentiment.created_at)
        .where(
            Sentiment.space_id.in_(spaces),
            period.contains(Sentiment.created_at),
            period.members(Sentiment.member_id),
        )
        .subquery()
    )
    scored_count, average, negative = db.session.execute(
        select(
            func.count(),
            func.avg(scored.c.compound),
            func.coalesce(func.sum(case((scored.c.compound <= NEGATIVE, 1), else_=0)), 0),
        )
    ).one()
    day = func.date(scored.c.created_at)
    by_day = {
        day_key(d): (round(float(avg), 3), int(neg or 0))
        for d, avg, neg in db.session.execute(
            select(
                day,
                func.avg(scored.c.compound),
                func.sum(case((scored.c.compound <= NEGATIVE, 1), else_=0)),
            ).group_by(day)
        )
    }
    alerts = (
        select(Alert.kind, Alert.created_at, Alert.handled_at)
        .where(
            Alert.space_id.in_(spaces),
            period.contains(Alert.created_at),
            period.members(Alert.member_id),
        )
        .subquery()
    )
    kinds = {
        kind: (int(n), int(handled))
        for kind, n, handled in db.session.execute(
            select(alerts.c.kind, func.count(), func.count(alerts.c.handled_at)).group_by(
                alerts.c.kind
            )
        )
    }
    handling = percentiles(
        select(
            literal(0).label("key"),
            seconds_between(alerts.c.handled_at, alerts.c.created_at).label("secs"),
        ).where(alerts.c.kind == "at_risk", alerts.c.handled_at.is_not(None))
    ).get(0, (None, None))
    at_risk, handled = kinds.get("at_risk", (0, 0))
    labels = [d.isoformat() for d in period.days]
    data = {
        "figures": {
            "posts_scored": scored_count,
            "average_sentiment": round(float(average), 3) if average is not None else None,
            "negative_posts": int(negative),
            "at_risk": at_risk,
            "at_risk_handled": handled,
            "at_risk_handled_share": share(handled, at_risk),
            "handling_median_hours": handling[0],
            "handling_p90_hours": handling[1],
            "leads": kinds.get("lead", (0, 0))[0],
            "churn_signals": kinds.get("churn", (0, 0))[0],
        },
    }
    charts = [
        line(
            "listening-sentiment",
            "Average sentiment per day (-1 to +1)",
            labels,
            {"Average sentiment": [by_day.get(d, (None, 0))[0] for d in labels]},
        ),
        line(
            "listening-negative",
            "Negative posts per day",
            labels,
            {"Negative posts": [by_day.get(d, (None, 0))[1] for d in labels]},
            "bar",
        ),
    ]
    return data, charts


# ---- return ------------------------------------------------------------------------------


def social_value_at(day: date | None, period: Period) -> Decimal | None:
    if day is None:
        return None
    total = db.session.scalar(
        select(func.coalesce(func.sum(EngagementSnapshot.social_value), 0)).where(
            EngagementSnapshot.day == day, period.members(EngagementSnapshot.member_id)
        )
    )
    return Decimal(total or 0)


@panel("return", "Return")
def return_(viewer, period: Period):
    support_money = support_figures(viewer, period)
    leads = db.session.scalar(
        select(func.count(Alert.id)).where(
            Alert.kind == "lead",
            Alert.space_id.in_(access.visible_space_ids(viewer)),
            period.contains(Alert.created_at),
            period.members(Alert.member_id),
        )
    )
    enriched = db.session.scalar(
        select(func.count(func.distinct(OutboxItem.member_id))).where(
            OutboxItem.member_id.is_not(None),
            OutboxItem.kind.in_(("contact", "activity")),
            period.contains(OutboxItem.created_at),
            period.members(OutboxItem.member_id),
        )
    )
    start_day, end_day = _snapshot_day(period.start), _snapshot_day(period.end)
    start_value, end_value = social_value_at(start_day, period), social_value_at(end_day, period)
    savings = Decimal(str(support_money["savings"]))
    change = (end_value - start_value) if start_value is not None and end_value else None
    roc = None
    if change is not None and start_value:
        roc = round(float((savings + change) / start_value), 4)
    data = {
        "currency": current_app.config["CURRENCY"],
        "figures": {
            "savings": support_money["savings"],
            "cases_deflected": support_money["deflected"],
            "cases_escalated": support_money["escalated"],
            "leads_created": leads or 0,
            "contacts_enriched": enriched or 0,
            "social_value_at_start": money(start_value) if start_value is not None else None,
            "social_value_at_end": money(end_value) if end_value is not None else None,
            "social_value_change": money(change) if change is not None else None,
            "return_on_customer": roc,
        },
        "snapshots": {
            "start": start_day.isoformat() if start_day else None,
            "end": end_day.isoformat() if end_day else None,
        },
    }
    charts = [
        line(
            "return-crm",
            "What the community sent to the CRM",
            ["Cases deflected", "Cases escalated", "Leads", "Contacts enriched"],
            {
                "Records": [
                    support_money["deflected"],
                    support_money["escalated"],
                    leads or 0,
                    enriched or 0,
                ]
            },
            "bar",
        ),
        line(
            "return-value",
            "Value: savings and the change in social value",
            ["Savings", "Change in social value"],
            {"Value": [support_money["savings"], money(change) if change is not None else 0.0]},
            "bar",
        ),
    ]
    return data, charts
