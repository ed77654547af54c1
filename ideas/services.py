"""Ideas use cases: submit, vote, change status (and report back), merge, void
fraudulent votes, and the product team's review by customer value.

Same pipeline as community services: validate → load → ask the access policy →
write in one transaction → commit → send the events of community/events.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app, url_for
from sqlalchemy import and_, case, delete, exists, func, insert, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from community import access, events, markup, shared_pages
from community import services as community
from community.errors import Conflict, Invalid, NotAllowed, NotFound
from community.extensions import db
from community.models import Member, Space, Tag, utcnow

from .models import (
    IMPORTANCE,
    IMPORTANCE_LABELS,
    NOTE_REQUIRED,
    STATUS_LABELS,
    STATUSES,
    Area,
    Demand,
    Idea,
    StatusChange,
    Vote,
    VoteDay,
    idea_tag,
    trending_weight,
)

SORTS = ("top", "trending", "new")
REVIEW_SORTS = ("value", "votes", "trend", "new")
NOTE_MAX = 5000
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")
WORD = re.compile(r"[\w'-]{3,}", re.UNICODE)
# Words too common to tell two ideas apart.
_COMMON_WORDS = """
the and for with that this from have please would could should there their
about into your when what which like want need able make more some than
them then also add allow support option new way get can
"""
STOP_WORDS = frozenset(_COMMON_WORDS.split())


def _cfg(name: str):
    return current_app.config[name]


def _live(query):
    return query.where(Vote.voided_at.is_(None))


# ---- areas --------------------------------------------------------------------------


def create_area(by: Member, *, name, slug, description="", space: Space | None = None) -> Area:
    access.require(access.can_manage_spaces(by), message="Only admins manage idea areas.")
    errors: dict = {}
    name = community.checked_text(name, "name", errors, minimum=2, maximum=80)
    description = community.checked_text(
        description, "description", errors, minimum=0, maximum=2000
    )
    if not isinstance(slug, str) or not SLUG.match(slug.strip()):
        errors["slug"] = "2-60 lower-case letters, digits and dashes."
    elif db.session.scalar(select(Area.id).where(Area.slug == slug.strip())):
        errors["slug"] = "An area with this address already exists."
    if space is None:
        errors["space"] = "Choose the space the area's ideas belong to."
    community.raise_if_invalid(errors)
    position = (db.session.scalar(select(func.max(Area.position))) or 0) + 1
    area = Area(
        name=name, slug=slug.strip(), description=description, space_id=space.id, position=position
    )
    area.space = space
    db.session.add(area)
    db.session.commit()
    return area


def list_areas(viewer) -> list[Area]:
    return list(
        db.session.scalars(
            select(Area)
            .where(Area.space_id.in_(access.visible_space_ids(viewer)))
            .order_by(Area.position, Area.name)
        )
    )


def get_area(slug, viewer) -> Area:
    area = (
        db.session.scalar(select(Area).where(Area.slug == slug)) if isinstance(slug, str) else None
    )
    if area is None or not access.can_view_space(viewer, area.space):
        raise NotFound("No such idea area.")
    return area


# ---- ideas ----------------------------------------------------------------------------


def can_view_idea(viewer, idea: Idea | None) -> bool:
    """Hidden ideas show to moderators and their author only."""
    if idea is None or not access.can_view_space(viewer, idea.area.space):
        return False
    if idea.hidden_at is None or access.is_moderator(viewer):
        return True
    return getattr(viewer, "is_authenticated", False) and viewer.id == idea.author_id


def _not_hidden(viewer):
    if access.is_moderator(viewer):
        return true()
    if getattr(viewer, "is_authenticated", False):
        return or_(Idea.hidden_at.is_(None), Idea.author_id == viewer.id)
    return Idea.hidden_at.is_(None)


def get_idea(idea_id, viewer) -> Idea:
    idea = community.row_by_id(Idea, idea_id)
    if not can_view_idea(viewer, idea):
        raise NotFound("No such idea.")
    return idea


def idea_url(idea: Idea) -> str:
    return url_for("ideas.idea", idea_id=idea.id)


def submit_idea(author: Member, area: Area, title, body, tags=None) -> Idea:
    access.require_visible(author, area.space)
    access.require(access.can_post_in(author, area.space), message="You cannot submit ideas.")
    errors: dict = {}
    title = community.checked_text(
        title, "title", errors, minimum=_cfg("TITLE_MIN"), maximum=_cfg("TITLE_MAX")
    )
    body = community.checked_text(body, "body", errors, maximum=_cfg("BODY_MAX"))
    tag_names = community.checked_tags(tags, errors)
    community.raise_if_invalid(errors)
    held = community.screen_content(author, "idea", title, body, area.space)
    now = utcnow()
    idea = Idea(
        area_id=area.id,
        author_id=author.id,
        title=title,
        body=body,
        body_html=community.render_body(body),
        status="new",
        vote_count=1,
        trending_score=trending_weight(now),
        created_at=now,
    )
    idea.area = area
    idea.tags = community.tag_rows(tag_names)
    db.session.add(idea)
    db.session.flush()
    # The author wants their idea: their vote counts from the start.
    db.session.add(_new_vote(idea, author, None, now))
    db.session.flush()
    refresh_demand([idea.id])
    idea.thread_id = community.start_attached_discussion(
        area.space, author, title, idea_url(idea)
    ).id
    if held:  # kept out of sight until a moderator approves it (restore_idea)
        idea.hidden_at = now
        idea.hidden_reason = f"Awaiting approval: {held}"[:500]
        sent = events.record(events.content_held, idea, author=author, reason=held)
    else:
        sent = events.record(events.idea_submitted, idea, by=author)
    db.session.commit()
    sent()
    return idea


def _new_vote(idea: Idea, member: Member, importance, now) -> Vote:
    return Vote(
        idea_id=idea.id,
        member_id=member.id,
        importance=importance,
        created_at=now,
        weight=trending_weight(now),
        value_at_vote=member.customer_value,
        segment_at_vote=member.segment,
    )


def _checked_importance(importance):
    if importance in (None, "", "none"):
        return None
    if importance not in IMPORTANCE:
        raise Invalid(
            "Importance is nice_to_have, important or critical.",
            fields={"importance": f"One of: {', '.join(IMPORTANCE)}."},
        )
    return importance


def _require_open(idea: Idea) -> None:
    if idea.status == "merged":
        raise Conflict(f"This idea was merged into idea {idea.merged_into_id}; vote there.")


def vote(idea: Idea, member: Member, importance=None) -> Vote:
    """One vote per member per idea; voting again only updates the importance."""
    access.require_visible(member, idea.area.space)
    access.require(not member.is_suspended, message="Suspended members cannot vote.")
    importance = _checked_importance(importance)
    _require_open(idea)
    events.vote_attempted.send(member, kind="vote", target=idea)
    existing = my_vote(idea, member, include_voided=True)
    if existing is not None:
        if existing.voided_at is not None:
            raise NotAllowed("Your vote on this idea was voided by a moderator.")
        if existing.importance != importance and importance is not None:
            _lock_ideas([idea.id])
            _recount_importance(existing, member, existing.importance, importance)
            existing.importance = importance
            sent = events.record(events.idea_voted, existing, idea=idea, by=member, changed=True)
            db.session.commit()
            sent()
        return existing
    now = utcnow()
    ballot = _new_vote(idea, member, importance, now)
    # Counter and vote in one transaction (no SAVEPOINT: on SQLite releasing the
    # outermost one commits the vote alone, so a failure after it left a vote uncounted).
    db.session.execute(
        update(Idea)
        .where(Idea.id == idea.id)
        .values(vote_count=Idea.vote_count + 1, trending_score=Idea.trending_score + ballot.weight)
    )
    db.session.add(ballot)
    try:
        db.session.flush()
        moved = _count_vote(ballot, member, +1)
        db.session.execute(
            update(Idea).where(Idea.id == idea.id).values(demand_value=Idea.demand_value + moved)
        )
        sent = events.record(events.idea_voted, ballot, idea=idea, by=member, changed=False)
        db.session.commit()
    except IntegrityError:  # the same member voting twice at the same moment
        db.session.rollback()
        return my_vote(idea, member)
    db.session.refresh(idea)
    sent()
    return ballot


def _lock_ideas(idea_ids) -> None:
    """Every transaction that changes an idea's counts locks its row first (in id
    order), before the demand summary rows: one order, so two of them can wait
    for each other on PostgreSQL but never deadlock. (SQLite has one writer.)"""
    db.session.execute(
        select(Idea.id).where(Idea.id.in_(sorted(idea_ids))).order_by(Idea.id).with_for_update()
    )


def unvote(idea: Idea, member: Member) -> Idea:
    access.require_visible(member, idea.area.space)
    ballot = my_vote(idea, member)
    if ballot is None:
        return idea
    _lock_ideas([idea.id])
    moved = _count_vote(ballot, member, -1)
    db.session.delete(ballot)
    db.session.execute(
        update(Idea)
        .where(Idea.id == idea.id)
        .values(
            vote_count=Idea.vote_count - 1,
            trending_score=Idea.trending_score - ballot.weight,
            demand_value=Idea.demand_value + moved,
        )
    )
    sent = events.record(events.idea_unvoted, idea, by=member)
    db.session.commit()
    db.session.refresh(idea)
    sent()
    return idea


def my_vote(idea: Idea, member, include_voided: bool = False) -> Vote | None:
    if not getattr(member, "is_authenticated", False):
        return None
    query = select(Vote).where(Vote.idea_id == idea.id, Vote.member_id == member.id)
    return db.session.scalar(query if include_voided else _live(query))


def my_votes_among(idea_ids: list[int], member) -> dict[int, Vote]:
    if not idea_ids or not getattr(member, "is_authenticated", False):
        return {}
    votes = db.session.scalars(
        _live(select(Vote).where(Vote.member_id == member.id, Vote.idea_id.in_(idea_ids)))
    )
    return {v.idea_id: v for v in votes}


@shared_pages.member_state("voted")
def voted_query(member_id, idea_ids):
    """For the personal parts of shared pages (community/shared_pages.py)."""
    return _live(
        select(Vote.idea_id).where(Vote.member_id == member_id, Vote.idea_id.in_(idea_ids))
    )


@shared_pages.own_hidden_content
def has_hidden_ideas(member_id):
    """Hidden or held ideas show to their author (and moderators) only."""
    return exists().where(Idea.author_id == member_id, Idea.hidden_at.is_not(None))


def _voter_ids(idea: Idea) -> set[int]:
    return set(db.session.scalars(_live(select(Vote.member_id).where(Vote.idea_id == idea.id))))


def change_status(idea: Idea, status, note, by: Member) -> StatusChange:
    """Tell the author, every voter and every follower, with the company's note."""
    access.require_visible(by, idea.area.space)
    access.require(
        access.can_respond_to_ideas(by, idea.area.space),
        message="Only product managers (and an advisory space's hosts) change statuses.",
    )
    errors: dict = {}
    note = community.checked_text(note, "note", errors, minimum=0, maximum=NOTE_MAX)
    if status not in STATUSES or status == "merged":
        errors["status"] = "Choose one of: " + ", ".join(s for s in STATUSES if s != "merged") + "."
    elif status in NOTE_REQUIRED and not note:
        errors["note"] = f"Tell the voters why: a note is required for {STATUS_LABELS[status]}."
    elif status == idea.status and not note:
        errors["status"] = f"The idea is already {STATUS_LABELS[status]}."
    community.raise_if_invalid(errors)
    _require_open(idea)
    change = StatusChange(
        idea_id=idea.id,
        from_status=idea.status,
        to_status=status,
        note=note,
        note_html=community.render_body(note) if note else "",
        by_id=by.id,
    )
    db.session.add(change)
    idea.status = status
    idea.status_changed_at = utcnow()
    label = STATUS_LABELS[status]
    summary = f"“{idea.title}” is now {label}"
    recipients = {idea.author_id} | _voter_ids(idea)
    if idea.thread is not None:
        recipients |= community.follower_ids(idea.thread)
    url = idea_url(idea)
    link = url_for("ideas.idea", idea_id=idea.id, _external=True)
    notes = community.queue_notifications(
        recipients,
        "idea_status",
        actor=by,
        space=idea.area.space,
        summary=summary + (f": {markup.excerpt(change.note_html, 120)}" if note else ""),
        url=url,
        email_subject=summary,
        email_body=f"{summary}.\n\n{note}\n\n{link}",
    )
    sent = events.record(events.idea_status_changed, idea, change=change, by=by)
    db.session.commit()
    sent()
    community.announce(notes)
    return change


def status_history(idea: Idea) -> list[StatusChange]:
    return list(
        db.session.scalars(
            select(StatusChange)
            .where(StatusChange.idea_id == idea.id)
            .order_by(StatusChange.created_at, StatusChange.id)
        )
    )


def merge_ideas(duplicate: Idea, into: Idea, by: Member) -> Idea:
    """Votes move over (a member who voted on both keeps one vote), followers and
    comments are kept, and the duplicate points to the idea kept."""
    access.require_visible(by, duplicate.area.space)
    access.require_visible(by, into.area.space)
    access.require(access.can_review_ideas(by), message="Only product managers merge ideas.")
    if duplicate.id == into.id:
        raise Invalid("An idea cannot be merged into itself.", fields={"into": "Choose another."})
    if into.status == "merged":
        raise Invalid(
            f"Idea {into.id} was itself merged into idea {into.merged_into_id}; merge there.",
            fields={"into": "Already merged."},
        )
    _require_open(duplicate)
    # The duplicate's voters hear where their vote went (not the kept idea's own voters).
    merged_voters = set(
        db.session.scalars(_live(select(Vote.member_id).where(Vote.idea_id == duplicate.id)))
    ) | {duplicate.author_id}
    both = select(Vote.member_id).where(Vote.idea_id == into.id)
    dropped = db.session.execute(
        delete(Vote).where(Vote.idea_id == duplicate.id, Vote.member_id.in_(both))
    ).rowcount
    moved = db.session.execute(
        update(Vote).where(Vote.idea_id == duplicate.id).values(idea_id=into.id)
    ).rowcount
    note = f"Merged into [“{into.title}”]({idea_url(into)})."
    db.session.add(
        StatusChange(
            idea_id=duplicate.id, from_status=duplicate.status, to_status="merged",
            note=note, note_html=community.render_body(note), by_id=by.id,
        )
    )  # fmt: skip
    duplicate.status = "merged"
    duplicate.merged_into_id = into.id
    duplicate.status_changed_at = utcnow()
    if duplicate.thread is not None and into.thread is not None:
        community.copy_followers(duplicate.thread, into.thread)
        community.attach_discussion_elsewhere(duplicate.thread, idea_url(into))
    db.session.flush()
    _recount(duplicate)
    _recount(into)
    refresh_demand([duplicate.id, into.id])
    notes = community.queue_notifications(
        merged_voters,
        "idea_merged",
        actor=by,
        space=into.area.space,
        summary=f"“{duplicate.title}” was merged into “{into.title}”; your vote moved with it",
        url=idea_url(into),
    )
    sent = events.record(
        events.idea_merged, duplicate, into=into, by=by, moved_votes=moved + dropped
    )
    db.session.commit()
    sent()
    community.announce(notes)
    return into


def merged_discussions(idea: Idea) -> list[Idea]:
    """Ideas merged into this one: their comments show on this idea's page."""
    return list(
        db.session.scalars(
            select(Idea).where(Idea.merged_into_id == idea.id).order_by(Idea.created_at)
        )
    )


def _recount(idea: Idea) -> None:
    count, score = db.session.execute(
        _live(
            select(func.count(Vote.id), func.coalesce(func.sum(Vote.weight), 0.0)).where(
                Vote.idea_id == idea.id
            )
        )
    ).one()
    idea.vote_count = count
    idea.trending_score = float(score)


def void_votes(member: Member, by: Member, reason) -> list[int]:
    """A moderator voids a member's votes as fraud; every count and score follows."""
    access.require(access.is_moderator(by), message="Only moderators void votes.")
    errors: dict = {}
    reason = community.checked_text(reason, "reason", errors, maximum=500)
    community.raise_if_invalid(errors)
    votes = list(db.session.scalars(_live(select(Vote).where(Vote.member_id == member.id))))
    votes.sort(key=lambda ballot: ballot.idea_id)
    _lock_ideas({ballot.idea_id for ballot in votes})
    now = utcnow()
    for ballot in votes:
        ballot.voided_at = now
        ballot.voided_by_id = by.id
        moved = _count_vote(ballot, member, -1)
        db.session.execute(
            update(Idea)
            .where(Idea.id == ballot.idea_id)
            .values(
                vote_count=Idea.vote_count - 1,
                trending_score=Idea.trending_score - ballot.weight,
                demand_value=Idea.demand_value + moved,
            )
        )
    idea_ids = sorted({v.idea_id for v in votes})
    sent = events.record(events.idea_votes_voided, member, by=by, idea_ids=idea_ids, reason=reason)
    db.session.commit()
    sent()
    return idea_ids


def member_votes(member: Member, viewer) -> list[Vote]:
    access.require(access.is_moderator(viewer), hide=True)
    return list(
        db.session.scalars(
            select(Vote).where(Vote.member_id == member.id).order_by(Vote.created_at.desc())
        )
    )


# ---- browsing -----------------------------------------------------------------------


def _visible_ideas(viewer):
    visible_areas = select(Area.id).where(Area.space_id.in_(access.visible_space_ids(viewer)))
    return select(Idea).where(Idea.area_id.in_(visible_areas), _not_hidden(viewer))


# What a list shows of each idea, loaded for the whole page in a fixed number of queries.
_LIST_LOADING = (selectinload(Idea.thread), selectinload(Idea.tags))


def list_ideas(viewer, *, sort="top", status=None, area=None, tag=None, page=1, per_page=None):
    if sort not in SORTS:
        raise Invalid(f"Sort by one of: {', '.join(SORTS)}.", fields={"sort": "Unknown."})
    if status not in (None, "") and status not in STATUSES:
        raise Invalid("Unknown status.", fields={"status": f"One of: {', '.join(STATUSES)}."})
    query = _visible_ideas(viewer)
    query = query.where(Idea.status == status) if status else query.where(Idea.status != "merged")
    if area is not None:
        query = query.where(Idea.area_id == area.id)
    if tag:
        query = query.where(
            Idea.id.in_(
                select(idea_tag.c.idea_id)
                .join(Tag, Tag.id == idea_tag.c.tag_id)
                .where(Tag.name == tag)
            )
        )
    order = {
        "top": (Idea.vote_count.desc(), Idea.created_at.desc()),
        "trending": (Idea.trending_score.desc(), Idea.vote_count.desc()),
        "new": (Idea.created_at.desc(),),
    }[sort]
    return db.paginate(
        query.order_by(*order, Idea.id.desc()).options(*_LIST_LOADING),
        page=min(max(page, 1), community.MAX_PAGE),
        per_page=per_page or _cfg("THREADS_PER_PAGE"),
        max_per_page=_cfg("API_MAX_PER_PAGE"),
        error_out=False,
    )


def similar_ideas(viewer, text, limit: int = 5) -> list[Idea]:
    """Ideas whose titles share the most words with ``text`` (open ones first), so a
    customer can vote instead of filing a duplicate."""
    if not isinstance(text, str):
        return []
    words = [w for w in {w.lower() for w in WORD.findall(text[:300])} if w not in STOP_WORDS][:8]
    if not words:
        return []
    matches = [
        case((func.lower(Idea.title).contains(w, autoescape=True), 1), else_=0) for w in words
    ]
    score = sum(matches[1:], matches[0])
    query = (
        _visible_ideas(viewer)
        .add_columns(score.label("score"))
        .where(Idea.status != "merged", score > 0)
        .order_by(Idea.status.in_(("delivered", "declined")), score.desc(), Idea.vote_count.desc())
        .limit(limit)
    )
    return [row[0] for row in db.session.execute(query)]


# ---- the product team's review --------------------------------------------------------------


@dataclass
class ReviewRow:
    idea: Idea
    votes: int
    importance: dict[str, int]
    recent: int  # votes in the last 30 days
    previous: int  # votes in the 30 days before
    value: Decimal
    segments: dict[str, dict] = field(default_factory=dict)

    @property
    def trend(self) -> int:
        return self.recent - self.previous


def _upsert_add(model, keys: dict, amounts: dict) -> None:
    """INSERT the row or add the amounts to it, in one atomic statement."""
    insert_ = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert_(model).values(**keys, **amounts)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: getattr(model, name) + statement.excluded[name] for name in amounts},
    )
    db.session.execute(statement)


def _count_vote(ballot: Vote, member: Member, delta: int) -> Decimal:
    """Add (+1) or take away (-1) one live vote in the demand summary; returns the
    customer value it moved, for the idea's demand_value."""
    segment = member.segment or ""
    value = (member.customer_value or Decimal(0)) * delta
    amounts = {"votes": delta, "value": value}
    if ballot.importance:
        amounts[ballot.importance] = delta
    _upsert_add(Demand, {"idea_id": ballot.idea_id, "segment": segment}, amounts)
    _upsert_add(
        VoteDay,
        {"idea_id": ballot.idea_id, "segment": segment, "day": ballot.created_at.date()},
        {"votes": delta},
    )
    return value


def _recount_importance(ballot: Vote, member: Member, old, new) -> None:
    amounts = {}
    if old:
        amounts[old] = -1
    if new:
        amounts[new] = amounts.get(new, 0) + 1
    if amounts:
        _upsert_add(Demand, {"idea_id": ballot.idea_id, "segment": member.segment or ""}, amounts)


def refresh_demand(idea_ids) -> None:
    """Rebuild the Demand and VoteDay rows and demand_value of these ideas from their
    live votes and their voters' customer data now (after a merge, a change of a
    voter's customer data, or `flask ideas check`). Inside the caller's transaction."""
    ids = sorted(set(idea_ids))
    if not ids:
        return
    segment = func.coalesce(Member.segment, "")
    live_votes = (
        _live(select(Vote.idea_id, segment))
        .join(Member, Member.id == Vote.member_id)
        .where(Vote.idea_id.in_(ids))
    )
    per_importance = [
        func.sum(case((Vote.importance == level, 1), else_=0)).label(level) for level in IMPORTANCE
    ]
    demand = db.session.execute(
        live_votes.add_columns(
            func.count(Vote.id).label("votes"),
            func.coalesce(func.sum(Member.customer_value), 0).label("value"),
            *per_importance,
        ).group_by(Vote.idea_id, segment)
    ).all()
    day = func.date(Vote.created_at)
    days = db.session.execute(
        live_votes.add_columns(day, func.count(Vote.id)).group_by(Vote.idea_id, segment, day)
    ).all()
    db.session.execute(delete(Demand).where(Demand.idea_id.in_(ids)))
    db.session.execute(delete(VoteDay).where(VoteDay.idea_id.in_(ids)))
    if demand:
        db.session.execute(
            insert(Demand),
            [
                {"idea_id": row[0], "segment": row[1], "votes": row.votes, "value": row.value,
                 **{level: getattr(row, level) or 0 for level in IMPORTANCE}}
                for row in demand
            ],
        )  # fmt: skip
    if days:
        db.session.execute(
            insert(VoteDay),
            [
                {"idea_id": idea_id, "segment": name, "votes": count,
                 "day": date.fromisoformat(cast_on) if isinstance(cast_on, str) else cast_on}
                for idea_id, name, cast_on, count in days
            ],
        )  # fmt: skip
    totals: dict[int, Decimal] = dict.fromkeys(ids, Decimal(0))
    for row in demand:
        totals[row[0]] += Decimal(row.value or 0)
    for idea_id, total in totals.items():
        db.session.execute(update(Idea).where(Idea.id == idea_id).values(demand_value=total))


def refresh_demand_of_voter(member: Member) -> None:
    """A voter's customer value or segment changed: so did the demand for their ideas."""
    ideas = list(db.session.scalars(_live(select(Vote.idea_id).where(Vote.member_id == member.id))))
    refresh_demand(ideas)
    db.session.commit()


def review(viewer, *, sort="value", segment=None, status=None, area=None, page=1, per_page=50):
    """Ideas with votes, importance mix, 30-day trend and value-weighted demand (the
    summed customer value of live voters, now), with a breakdown by segment.

    Sorting by value or votes reads the maintained Demand summary through an
    index; the page's figures are then added up over the votes of that page's
    ideas only. A constant number of queries whatever the size of the board."""
    access.require(access.can_review_ideas(viewer), hide=True)
    if sort not in REVIEW_SORTS:
        raise Invalid(f"Sort by one of: {', '.join(REVIEW_SORTS)}.", fields={"sort": "Unknown."})
    if status not in (None, "") and status not in STATUSES:
        raise Invalid("Unknown status.", fields={"status": f"One of: {', '.join(STATUSES)}."})
    now = utcnow()
    query = _visible_ideas(viewer).where(Idea.status != "merged").options(*_LIST_LOADING)
    if status:
        query = query.where(Idea.status == status)
    if area is not None:
        query = query.where(Idea.area_id == area.id)
    if segment:
        # Only ideas someone in the segment wants, ranked by that segment's demand.
        query = query.join(Demand, and_(Demand.idea_id == Idea.id, Demand.segment == segment))
        value_key, votes_key = Demand.value, Demand.votes
    else:
        value_key, votes_key = Idea.demand_value, Idea.vote_count
    if segment:
        query = query.where(Demand.votes > 0)
    if sort == "trend":
        today = now.date()
        days = select(VoteDay.idea_id).where(VoteDay.day > today - timedelta(days=60))
        if segment:
            days = days.where(VoteDay.segment == segment)
        window = (
            days.add_columns(
                func.sum(
                    case(
                        (VoteDay.day > today - timedelta(days=30), VoteDay.votes),
                        else_=-VoteDay.votes,
                    )
                ).label("trend")
            )
            .group_by(VoteDay.idea_id)
            .subquery()
        )
        query = query.outerjoin(window, window.c.idea_id == Idea.id)
        order = (func.coalesce(window.c.trend, 0).desc(), value_key.desc())
    else:
        order = {
            "value": (value_key.desc(), votes_key.desc()),
            "votes": (votes_key.desc(), value_key.desc()),
            "new": (Idea.created_at.desc(),),
        }[sort]
    page_ideas = db.paginate(
        query.order_by(*order, Idea.id.desc()),
        page=min(max(page, 1), community.MAX_PAGE),
        per_page=per_page,
        max_per_page=200,
        error_out=False,
    )
    page_ideas.items = _review_rows(page_ideas.items, segment, now.date())
    return page_ideas


def _review_rows(ideas: list[Idea], segment, today: date) -> list[ReviewRow]:
    """The figures of one page of ideas, from the summaries: two small queries."""
    if not ideas:
        return []
    ids = [idea.id for idea in ideas]
    demand = select(Demand).where(Demand.idea_id.in_(ids), Demand.votes > 0)
    days = select(
        VoteDay.idea_id,
        func.sum(case((VoteDay.day > today - timedelta(days=30), VoteDay.votes), else_=0)),
        func.sum(case((VoteDay.day <= today - timedelta(days=30), VoteDay.votes), else_=0)),
    ).where(VoteDay.idea_id.in_(ids), VoteDay.day > today - timedelta(days=60))
    if segment:
        demand = demand.where(Demand.segment == segment)
        days = days.where(VoteDay.segment == segment)
    rows = {
        idea.id: ReviewRow(
            idea=idea, votes=0, importance=dict.fromkeys(IMPORTANCE, 0), recent=0, previous=0,
            value=Decimal("0.00"),
        )
        for idea in ideas
    }  # fmt: skip
    for part in db.session.scalars(demand):
        row = rows[part.idea_id]
        row.votes += part.votes
        row.value += Decimal(part.value or 0).quantize(Decimal("0.01"))
        for level in IMPORTANCE:
            row.importance[level] += getattr(part, level) or 0
        row.segments[part.segment or "unknown"] = {
            "votes": part.votes,
            "value": Decimal(part.value or 0).quantize(Decimal("0.01")),
        }
    for idea_id, recent, previous in db.session.execute(days.group_by(VoteDay.idea_id)):
        rows[idea_id].recent, rows[idea_id].previous = int(recent or 0), int(previous or 0)
    for row in rows.values():
        row.segments = dict(sorted(row.segments.items()))
    return [rows[idea.id] for idea in ideas]


def segments_in_use() -> list[str]:
    return list(
        db.session.scalars(
            select(Member.segment)
            .where(Member.segment.is_not(None))
            .distinct()
            .order_by(Member.segment)
        )
    )


def bulk_change_status(idea_ids: list[int], status, note, by: Member) -> int:
    """The review page's bulk action: one status change (and report back) per idea."""
    if not isinstance(idea_ids, list) or not idea_ids:
        raise Invalid("Choose at least one idea.", fields={"ideas": "Choose at least one."})
    changed = 0
    for idea_id in idea_ids:
        idea = get_idea(idea_id, by)
        if idea.status == "merged" or (idea.status == status and not note):
            continue
        change_status(idea, status, note, by)
        changed += 1
    return changed


# ---- integrity ------------------------------------------------------------------------


@dataclass
class Drift:
    idea_id: int
    stored_votes: int
    actual_votes: int
    stored_score: float
    actual_score: float


def check_counts(fix: bool = True) -> list[Drift]:
    """Recompute every idea's vote count and trending score from its live votes (and,
    when fixing, rebuild the demand summary)."""
    actual = (
        _live(
            select(Vote.idea_id, func.count(Vote.id).label("n"), func.sum(Vote.weight).label("w"))
        )
        .group_by(Vote.idea_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Idea.id, Idea.vote_count, Idea.trending_score, actual.c.n, actual.c.w).outerjoin(
            actual, actual.c.idea_id == Idea.id
        )
    )
    drifts = []
    for idea_id, stored, score, n, weight in rows:
        n, weight = int(n or 0), float(weight or 0.0)
        if stored != n or abs((score or 0.0) - weight) > max(1e-6, abs(weight) * 1e-9):
            drifts.append(Drift(idea_id, stored, n, score or 0.0, weight))
    if fix and drifts:
        for drift in drifts:
            db.session.execute(
                update(Idea)
                .where(Idea.id == drift.idea_id)
                .values(vote_count=drift.actual_votes, trending_score=drift.actual_score)
            )
    if fix:
        # The demand summary is rebuilt whole: it is derived data, cheap to redo.
        all_ids = list(db.session.scalars(select(Idea.id).order_by(Idea.id)))
        for start in range(0, len(all_ids), 500):
            refresh_demand(all_ids[start : start + 500])
        db.session.commit()
    return drifts


def importance_label(value) -> str:
    return IMPORTANCE_LABELS.get(value, "No importance given")


def visible_idea_filter(viewer):
    """SQL condition on Idea rows the viewer may see (for other domains' lists)."""
    return Idea.area_id.in_(
        select(Area.id).where(Area.space_id.in_(access.visible_space_ids(viewer)))
    ) & _not_hidden(viewer)


def ideas_by_ids(ids: list[int]) -> list[Idea]:
    if not ids:
        return []
    return list(db.session.scalars(select(Idea).where(Idea.id.in_(ids))))


# ---- moderation actions -------------------------------------------------------------


def hide_idea(idea: Idea, by: Member | None, reason) -> Idea:
    """Hide an idea (``by=None``: automatically at the flag threshold, pending review)."""
    if by is not None:
        access.require(access.is_moderator(by), message="Only moderators hide ideas.")
    reason = community.moderation_reason(reason)
    if idea.hidden_at is not None:
        return idea
    idea.hidden_at = utcnow()
    idea.hidden_reason = reason
    sent = events.record(events.idea_hidden, idea, by=by, reason=reason)
    db.session.commit()
    sent()
    return idea


def restore_idea(idea: Idea, by: Member, reason="") -> Idea:
    """Show a hidden idea again; an idea held for approval is published (announced) now."""
    access.require(access.is_moderator(by), message="Only moderators restore ideas.")
    reason = community.moderation_reason(reason, required=False)
    if idea.hidden_at is None:
        return idea
    was_held = (idea.hidden_reason or "").startswith("Awaiting approval")
    idea.hidden_at = None
    idea.hidden_reason = None
    sent = [events.record(events.idea_restored, idea, by=by, reason=reason)]
    if was_held:
        sent.append(events.record(events.idea_submitted, idea, by=idea.author))
    db.session.commit()
    for send in sent:
        send()
    return idea
