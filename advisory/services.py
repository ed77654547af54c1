"""Advisory committee use cases: the only writers of the advisory tables.

Membership rows belong to the community (host, member, alumni); these services
change them through ``community.services.stage_space_role`` and friends, in the
same transaction as their own rows, and send the community's events after commit.
Every function takes the acting member as ``by`` and asks ``community.access``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email
from flask import current_app, g, has_request_context, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from community import access
from community import services as community
from community.errors import Conflict, Invalid, NotFound
from community.extensions import db
from community.models import (
    ACTIVE_SPACE_ROLES,
    Member,
    Space,
    SpaceMembership,
    utcnow,
)
from ideas import services as ideas
from ideas.models import Area, Idea, StatusChange

from .models import RSVP_ANSWERS, Cohort, Committee, Invitation, Meeting, Reward, Rsvp, Rule, Seat

TEXT_MAX = 5000
DEFAULT_RESPONSE_DAYS = 30


def _cfg(name: str, default):
    return current_app.config.get(name, default)


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict("That conflicts with a change made at the same time; try again.") from error


def _require_host(committee: Committee, by) -> None:
    access.require_visible(by, committee.space)
    access.require(access.can_host_space(by, committee.space), hide=True)


# ---- committees and their charter ---------------------------------------------------


def committee_of(space: Space) -> Committee | None:
    return db.session.scalar(select(Committee).where(Committee.space_id == space.id))


def get_committee(slug, viewer) -> Committee:
    """The committee of an advisory space the viewer may see; not found otherwise."""
    space = community.get_space(slug, viewer)
    committee = committee_of(space) if space.kind == "advisory" else None
    if committee is None:
        raise NotFound("No such space.")
    return committee


def list_committees(viewer) -> list[Committee]:
    return list(
        db.session.scalars(
            select(Committee)
            .join(Space, Space.id == Committee.space_id)
            .where(access.visible_space_filter(viewer))
            .order_by(Space.position, Space.name)
        )
    )


def _area_slug(space: Space) -> str:
    base = f"{space.slug}-suggestions"[:60]
    slug, n = base, 2
    while db.session.scalar(select(Area.id).where(Area.slug == slug)):
        slug = f"{base[:55]}-{n}"
        n += 1
    return slug


def set_up_committee(space: Space, by: Member) -> Committee:
    """An advisory space gets its committee row and private suggestions board
    (an ideas area in the space). Idempotent: run once the space exists."""
    committee = committee_of(space)
    if committee is None:
        committee = Committee(space_id=space.id, response_days=DEFAULT_RESPONSE_DAYS)
        committee.space = space
        db.session.add(committee)
        _commit()
    if committee.area_id is None:
        area = ideas.create_area(
            by,
            name=f"{space.name} suggestions"[:80],
            slug=_area_slug(space),
            description="The committee's private suggestions board.",
            space=space,
        )
        committee.area_id = area.id
        _commit()
    return committee


def area_of(committee: Committee) -> Area | None:
    return db.session.get(Area, committee.area_id) if committee.area_id else None


def update_charter(committee: Committee, by, *, purpose, time_commitment, recognition,
                   response_days=None) -> Committee:  # fmt: skip
    """Hosts write the charter; a changed charter is a new version to accept."""
    _require_host(committee, by)
    errors: dict = {}
    purpose = community.checked_text(purpose, "purpose", errors, minimum=10, maximum=TEXT_MAX)
    time_commitment = community.checked_text(
        time_commitment, "time_commitment", errors, minimum=3, maximum=1000
    )
    recognition = community.checked_text(
        recognition, "recognition", errors, minimum=3, maximum=1000
    )
    days = committee.response_days
    if response_days not in (None, ""):
        days = _whole_number(response_days, "response_days", errors, 1, 365)
    community.raise_if_invalid(errors)
    changed = (purpose, time_commitment, recognition) != (
        committee.purpose,
        committee.time_commitment,
        committee.recognition,
    )
    committee.purpose = purpose
    committee.purpose_html = community.render_body(purpose)
    committee.time_commitment = time_commitment
    committee.recognition = recognition
    committee.response_days = days
    if changed:
        committee.charter_version += 1
        committee.charter_updated_at = utcnow()
    _commit()
    return committee


def _whole_number(value, field: str, errors: dict, low: int, high: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[field] = f"A whole number from {low} to {high}."
        return low
    return value


# ---- who belongs ----------------------------------------------------------------------


@dataclass
class Person:
    member: Member
    role: str
    seat: Seat | None


def people(committee: Committee) -> list[Person]:
    """Hosts, members and alumni with their seats, in two queries."""
    rows = db.session.execute(
        select(SpaceMembership, Member)
        .join(Member, Member.id == SpaceMembership.member_id)
        .where(SpaceMembership.space_id == committee.space_id)
        .order_by(SpaceMembership.role, Member.display_name)
    ).all()
    seats = {
        s.member_id: s
        for s in db.session.scalars(select(Seat).where(Seat.space_id == committee.space_id))
    }
    return [Person(m, row.role, seats.get(m.id)) for row, m in rows]


def badge_holder_ids() -> set[int]:
    """Members and alumni of any advisory committee (hosts are staff, not members)."""
    return set(
        db.session.scalars(
            select(SpaceMembership.member_id)
            .join(Space, Space.id == SpaceMembership.space_id)
            .where(Space.kind == "advisory", SpaceMembership.role.in_(("member", "alumni")))
        )
    )


def has_badge(member) -> bool:
    """For templates: one query per request whatever the number of names shown."""
    if member is None or not getattr(member, "id", None):
        return False
    if has_request_context():
        if "advisory_badges" not in g:
            g.advisory_badges = badge_holder_ids()
        return member.id in g.advisory_badges
    return member.id in badge_holder_ids()


def sits_on_a_committee(member) -> bool:
    if member is None or not getattr(member, "is_authenticated", False):
        return False
    if member.is_admin:
        return True
    return (
        db.session.scalar(
            select(SpaceMembership.id)
            .join(Space, Space.id == SpaceMembership.space_id)
            .where(
                Space.kind == "advisory",
                SpaceMembership.member_id == member.id,
                SpaceMembership.role.in_(ACTIVE_SPACE_ROLES),
            )
            .limit(1)
        )
        is not None
    )


def remove_member(committee: Committee, member: Member, by) -> None:
    community.remove_space_member(committee.space, member, by=by)


def leave(committee: Committee, member: Member) -> None:
    community.remove_space_member(committee.space, member, by=member, reason="left")


# ---- invitations ----------------------------------------------------------------------


def _checked_email(value, errors: dict) -> str:
    if not isinstance(value, str) or not value.strip():
        errors["email"] = "Required."
        return ""
    try:
        return validate_email(value.strip()[:254], check_deliverability=False).normalized
    except EmailNotValidError as error:
        errors["email"] = str(error)
        return ""


def invitation_url(token: str) -> str:
    return url_for("advisory.invitation", token=token, _external=True)


def _stage_invitation(committee, email: str, member, by, *, rule=None, cohort=None):
    token = secrets.token_urlsafe(32)
    days = int(_cfg("ADVISORY_INVITATION_DAYS", 14))
    now = utcnow()
    invitation = Invitation(
        space_id=committee.space_id,
        email=email,
        member_id=member.id if member else None,
        invited_by_id=by.id if by else None,
        rule_id=rule.id if rule else None,
        cohort_id=cohort.id if cohort else (rule.cohort_id if rule else None),
        digest=Invitation.digest_of(token),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(invitation)
    url = invitation_url(token)
    who = by.display_name if by else "The community team"
    body = (
        f"{who} invites you to join {committee.space.name}, the customer advisory "
        f"committee.\n\nRead the charter and accept the invitation here (the link works "
        f"once, and until {invitation.expires_at:%Y-%m-%d}):\n\n{url}\n\n"
        "If you have no account yet, you can create one from that page."
    )
    community.queue_email(member or email, f"Invitation: {committee.space.name}", body)
    return invitation, url


def invite(committee: Committee, by, *, email=None, member=None, cohort=None):
    """Hosts invite an existing member or an e-mail address. Returns (invitation, url)."""
    _require_host(committee, by)
    errors: dict = {}
    if member is None:
        email = _checked_email(email, errors)
        community.raise_if_invalid(errors)
        member = community.find_member_by_email(email)
    else:
        email = member.email
    if member is not None and access.is_space_member(member, committee.space):
        raise Conflict("Already a member of this committee.", fields={"email": "Already in."})
    invitation, url = _stage_invitation(committee, email, member, by, cohort=cohort)
    _commit()
    return invitation, url


def pending_invitations(committee: Committee) -> list[Invitation]:
    now = utcnow()
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.space_id == committee.space_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .order_by(Invitation.created_at.desc())
        )
    )


def get_invitation_by_id(committee: Committee, invitation_id, by) -> Invitation:
    _require_host(committee, by)
    invitation = community.row_by_id(Invitation, invitation_id)
    if invitation is None or invitation.space_id != committee.space_id:
        raise NotFound("No such invitation.")
    return invitation


def revoke_invitation(invitation: Invitation, by) -> Invitation:
    committee = committee_of(invitation.space)
    _require_host(committee, by)
    if invitation.state(utcnow()) != "pending":
        raise Conflict("Only a pending invitation can be revoked.")
    invitation.revoked_at = utcnow()
    _commit()
    return invitation


INVITATION_GONE = {
    "accepted": "This invitation has already been used.",
    "revoked": "This invitation was withdrawn.",
    "expired": "This invitation has expired; ask the committee's host for a new one.",
}


def open_invitation(token) -> Invitation:
    """The pending invitation behind a link; anything else is not found (the link
    says nothing about the committee once it is used, withdrawn or expired)."""
    invitation = None
    if isinstance(token, str) and 10 <= len(token) <= 100:
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.digest == Invitation.digest_of(token))
        )
    if invitation is None:
        raise NotFound("No such invitation.")
    state = invitation.state(utcnow())
    if state != "pending":
        raise NotFound(INVITATION_GONE[state])
    return invitation


def is_invitee(invitation: Invitation, member) -> bool:
    """The link was sent to one person: the member it names, or whoever holds the
    invited address."""
    if member is None or not getattr(member, "is_authenticated", False):
        return False
    if invitation.member_id is not None:
        return invitation.member_id == member.id
    return member.email_key == invitation.email.lower()


def accept_invitation(token, member: Member, accept_charter) -> Seat:
    """Joining is reading and accepting the charter; the link then stops working."""
    invitation = open_invitation(token)
    if not is_invitee(invitation, member):
        raise NotFound("This invitation was sent to someone else.")
    if accept_charter is not True:
        raise Invalid(
            "Read and accept the charter to join.",
            fields={"accept_charter": "Accept the charter to join."},
        )
    committee = committee_of(invitation.space)
    if committee is None:
        raise NotFound("No such invitation.")
    now = utcnow()
    invitation.accepted_at = now
    invitation.member_id = member.id
    seat = db.session.scalar(
        select(Seat).where(Seat.space_id == committee.space_id, Seat.member_id == member.id)
    )
    if seat is None:
        seat = Seat(space_id=committee.space_id, member_id=member.id)
        db.session.add(seat)
    seat.charter_version = committee.charter_version
    seat.charter_accepted_at = now
    seat.alumni_since = None
    if invitation.cohort_id:
        seat.cohort_id = invitation.cohort_id
    sent = lambda: None  # noqa: E731 - a host accepting their own link keeps their role
    if not access.is_space_member(member, committee.space):
        sent = community.stage_space_role(
            committee.space, member, "member", by=invitation.invited_by
        )
    _commit()
    sent()
    return seat


def accept_current_charter(committee: Committee, member: Member) -> Seat:
    """A member re-accepts the charter after the hosts changed it."""
    access.require(access.is_space_member(member, committee.space), hide=True)
    seat = db.session.scalar(
        select(Seat).where(Seat.space_id == committee.space_id, Seat.member_id == member.id)
    )
    if seat is None:
        seat = Seat(space_id=committee.space_id, member_id=member.id)
        db.session.add(seat)
    seat.charter_version = committee.charter_version
    seat.charter_accepted_at = utcnow()
    _commit()
    return seat


def seat_of(committee: Committee, member) -> Seat | None:
    if member is None or not getattr(member, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Seat).where(Seat.space_id == committee.space_id, Seat.member_id == member.id)
    )


# ---- CRM rules --------------------------------------------------------------------------

# field -> the operators it takes
RULE_FIELDS = {
    "tier": ("eq", "ne"),
    "segment": ("eq", "ne"),
    "account_name": ("eq", "contains"),
    "customer_value": ("gte", "lte"),
    "renewal_on": ("within_months",),
    "customer_fields": ("is_true", "eq"),  # with a "key"
}
OPERATOR_LABELS = {
    "eq": "is",
    "ne": "is not",
    "contains": "contains",
    "gte": "is at least",
    "lte": "is at most",
    "within_months": "is within (months)",
    "is_true": "is true",
}


def _checked_conditions(raw, errors: dict) -> list[dict]:
    if not isinstance(raw, list) or not raw or len(raw) > 10:
        errors["conditions"] = "Give one to ten conditions."
        return []
    clean = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            errors["conditions"] = f"Condition {n} is not understood."
            continue
        field, op = item.get("field"), item.get("op")
        value, key = item.get("value"), item.get("key")
        if field not in RULE_FIELDS or op not in RULE_FIELDS[field]:
            errors["conditions"] = f"Condition {n}: unknown field or operator."
            continue
        condition = {"field": field, "op": op}
        if field == "customer_fields":
            if not isinstance(key, str) or not 0 < len(key.strip()) <= 60:
                errors["conditions"] = f"Condition {n}: name the custom field."
                continue
            condition["key"] = key.strip()
        if op in ("gte", "lte", "within_months"):
            try:
                number = Decimal(str(value).strip())
                if not number.is_finite() or number < 0 or number > Decimal("1e12"):
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors["conditions"] = f"Condition {n}: a number is needed."
                continue
            condition["value"] = str(number)
        elif op != "is_true":
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                errors["conditions"] = f"Condition {n}: a value is needed."
                continue
            text = str(value).strip()
            if not 0 < len(text) <= 120:
                errors["conditions"] = f"Condition {n}: a value is needed."
                continue
            condition["value"] = text
        clean.append(condition)
    return clean


def describe_condition(condition: dict) -> str:
    field = condition["field"]
    if field == "customer_fields":
        field = f"custom field {condition.get('key')}"
    label = OPERATOR_LABELS.get(condition["op"], condition["op"])
    value = condition.get("value", "")
    return f"{field.replace('_', ' ')} {label} {value}".strip()


def _matches(member: Member, condition: dict, today: date) -> bool:
    field, op, value = condition["field"], condition["op"], condition.get("value")
    if field == "customer_fields":
        actual = (member.customer_fields or {}).get(condition.get("key"))
        if op == "is_true":
            return actual is True or (isinstance(actual, str) and actual.lower() == "true")
        return actual is not None and str(actual).lower() == str(value).lower()
    actual = getattr(member, field)
    if op in ("eq", "ne"):
        same = actual is not None and str(actual).lower() == value.lower()
        return same if op == "eq" else not same
    if op == "contains":
        return actual is not None and value.lower() in str(actual).lower()
    if op in ("gte", "lte"):
        if actual is None:
            return False
        return actual >= Decimal(value) if op == "gte" else actual <= Decimal(value)
    if op == "within_months":
        if actual is None:
            return False
        return today <= actual <= today + timedelta(days=int(Decimal(value) * Decimal("30.44")))
    return False


def create_rule(committee: Committee, by, *, name, conditions, cohort_id=None) -> Rule:
    _require_host(committee, by)
    errors: dict = {}
    name = community.checked_text(name, "name", errors, minimum=2, maximum=80)
    clean = _checked_conditions(conditions, errors)
    cohort = None
    if cohort_id not in (None, "", 0):
        cohort = community.row_by_id(Cohort, cohort_id)
        if cohort is None or cohort.space_id != committee.space_id:
            errors["cohort"] = "Unknown cohort."
    community.raise_if_invalid(errors)
    rule = Rule(
        space_id=committee.space_id,
        name=name,
        conditions=clean,
        cohort_id=cohort.id if cohort else None,
        created_by_id=by.id,
    )
    db.session.add(rule)
    _commit()
    return rule


def list_rules(committee: Committee) -> list[Rule]:
    return list(
        db.session.scalars(
            select(Rule).where(Rule.space_id == committee.space_id).order_by(Rule.id)
        )
    )


def matching_members(rule: Rule, today: date | None = None) -> list[Member]:
    """Customers whose CRM facts meet every condition. Facts are few columns on a
    bounded set of customers with CRM data, so the rule is read in Python (JSON
    custom fields have no portable SQL)."""
    today = today or utcnow().date()
    with_facts = select(Member).where(
        (Member.tier.is_not(None))
        | (Member.segment.is_not(None))
        | (Member.customer_value.is_not(None))
        | (Member.account_name.is_not(None))
        | (Member.renewal_on.is_not(None))
        | (Member.customer_fields.is_not(None))
    )
    return [
        m
        for m in db.session.scalars(with_facts.order_by(Member.id))
        if all(_matches(m, c, today) for c in rule.conditions)
    ]


def run_rule(rule: Rule, by, today: date | None = None) -> list[Invitation]:
    """Invite matching customers who were never invited to (nor belong to) the
    committee; running it again invites only newcomers to the rule."""
    committee = db.session.scalar(select(Committee).where(Committee.space_id == rule.space_id))
    _require_host(committee, by)
    known = set(
        db.session.scalars(
            select(SpaceMembership.member_id).where(SpaceMembership.space_id == rule.space_id)
        )
    ) | set(
        db.session.scalars(
            select(Invitation.member_id).where(
                Invitation.space_id == rule.space_id, Invitation.member_id.is_not(None)
            )
        )
    )
    invited_addresses = {
        e.lower()
        for e in db.session.scalars(
            select(Invitation.email).where(Invitation.space_id == rule.space_id)
        )
    }
    made = []
    for member in matching_members(rule, today):
        if member.id in known or member.email_key in invited_addresses or member.is_suspended:
            continue
        invitation, _url = _stage_invitation(committee, member.email, member, by, rule=rule)
        made.append(invitation)
    rule.last_run_at = utcnow()
    _commit()
    return made


# ---- cohorts and terms -------------------------------------------------------------------


def _checked_day(value, field: str, errors: dict) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10]) if value else None
    except ValueError:
        pass
    errors[field] = "A date such as 2027-03-31."
    return None


def create_cohort(committee: Committee, by, *, name, starts_on, ends_on) -> Cohort:
    _require_host(committee, by)
    errors: dict = {}
    name = community.checked_text(name, "name", errors, minimum=2, maximum=80)
    start = _checked_day(starts_on, "starts_on", errors)
    end = _checked_day(ends_on, "ends_on", errors)
    if start and end and end < start:
        errors["ends_on"] = "The term ends after it starts."
    if not start and "starts_on" not in errors:
        errors["starts_on"] = "Required."
    if not end and "ends_on" not in errors:
        errors["ends_on"] = "Required."
    community.raise_if_invalid(errors)
    cohort = Cohort(space_id=committee.space_id, name=name, starts_on=start, ends_on=end)
    db.session.add(cohort)
    _commit()
    return cohort


def list_cohorts(committee: Committee) -> list[Cohort]:
    return list(
        db.session.scalars(
            select(Cohort)
            .where(Cohort.space_id == committee.space_id)
            .order_by(Cohort.starts_on.desc())
        )
    )


def assign_cohort(committee: Committee, member: Member, cohort_id, by) -> Seat:
    _require_host(committee, by)
    cohort = community.row_by_id(Cohort, cohort_id)
    if cohort is None or cohort.space_id != committee.space_id:
        raise Invalid("Unknown cohort.", fields={"cohort": "Unknown cohort."})
    seat = seat_of_member(committee, member)
    if seat is None:
        raise NotFound("Not a member of this committee.")
    seat.cohort_id = cohort.id
    _commit()
    return seat


def seat_of_member(committee: Committee, member: Member) -> Seat | None:
    return db.session.scalar(
        select(Seat).where(Seat.space_id == committee.space_id, Seat.member_id == member.id)
    )


def end_terms(today: date | None = None) -> int:
    """Cohorts whose term is over: their members become alumni (badge kept, access
    gone, open sockets cut). Returns how many members became alumni."""
    today = today or utcnow().date()
    due = list(
        db.session.scalars(select(Cohort).where(Cohort.ends_on < today, Cohort.ended_at.is_(None)))
    )
    changed = 0
    for cohort in due:
        space = db.session.get(Space, cohort.space_id)
        sends = []
        for seat in db.session.scalars(select(Seat).where(Seat.cohort_id == cohort.id)):
            role = access.space_role(seat.member, space)
            if role != "member":
                continue  # hosts run the committee beyond a term; alumni already are
            sends.append(
                community.stage_space_role(
                    space, seat.member, "alumni", by=None, reason="term ended"
                )
            )
            seat.alumni_since = utcnow()
            changed += 1
        cohort.ended_at = utcnow()
        _commit()
        for sent in sends:
            sent()
    return changed


# ---- meetings ---------------------------------------------------------------------------


def _checked_moment(value, errors: dict) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str) and value.strip():
        text = value.strip().removesuffix("Z")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return moment.replace(tzinfo=None, second=0, microsecond=0)
    errors["starts_at"] = "A date and time such as 2027-03-31T16:00 (UTC)."
    return None


def create_meeting(committee: Committee, by, *, title, starts_at, agenda="") -> Meeting:
    _require_host(committee, by)
    errors: dict = {}
    title = community.checked_text(title, "title", errors, minimum=3, maximum=200)
    moment = _checked_moment(starts_at, errors)
    agenda = community.checked_text(agenda, "agenda", errors, minimum=0, maximum=TEXT_MAX)
    community.raise_if_invalid(errors)
    meeting = Meeting(
        space_id=committee.space_id,
        title=title,
        starts_at=moment,
        agenda=agenda,
        agenda_html=community.render_body(agenda) if agenda else "",
        created_by_id=by.id,
    )
    meeting.space = committee.space
    db.session.add(meeting)
    db.session.flush()
    people_ids = _active_ids(committee)
    notes = community.queue_notifications(
        people_ids,
        "meeting",
        actor=by,
        space=committee.space,
        summary=f"New meeting: {title} on {moment:%Y-%m-%d %H:%M} UTC",
        url=url_for("advisory.meeting", slug=committee.space.slug, meeting_id=meeting.id),
    )
    _commit()
    community.announce(notes)
    return meeting


def update_meeting(meeting: Meeting, by, *, title, starts_at, agenda, minutes) -> Meeting:
    committee = committee_of(meeting.space)
    _require_host(committee, by)
    errors: dict = {}
    title = community.checked_text(title, "title", errors, minimum=3, maximum=200)
    moment = _checked_moment(starts_at, errors)
    agenda = community.checked_text(agenda, "agenda", errors, minimum=0, maximum=TEXT_MAX)
    minutes = community.checked_text(minutes, "minutes", errors, minimum=0, maximum=TEXT_MAX)
    community.raise_if_invalid(errors)
    if moment != meeting.starts_at:
        meeting.reminded_at = None  # a moved meeting is reminded again
    meeting.title, meeting.starts_at = title, moment
    meeting.agenda, meeting.minutes = agenda, minutes
    meeting.agenda_html = community.render_body(agenda) if agenda else ""
    meeting.minutes_html = community.render_body(minutes) if minutes else ""
    _commit()
    return meeting


def get_meeting(committee: Committee, meeting_id) -> Meeting:
    meeting = community.row_by_id(Meeting, meeting_id)
    if meeting is None or meeting.space_id != committee.space_id:
        raise NotFound("No such meeting.")
    return meeting


def meetings(committee: Committee) -> tuple[list[Meeting], list[Meeting]]:
    """(upcoming, soonest first; past, latest first)."""
    now = utcnow()
    base = select(Meeting).where(Meeting.space_id == committee.space_id)
    upcoming = db.session.scalars(base.where(Meeting.starts_at >= now).order_by(Meeting.starts_at))
    past = db.session.scalars(
        base.where(Meeting.starts_at < now).order_by(Meeting.starts_at.desc())
    )
    return list(upcoming), list(past)


def rsvp(meeting: Meeting, member: Member, answer) -> Rsvp:
    access.require(access.is_space_member(member, meeting.space), hide=True)
    if answer not in RSVP_ANSWERS:
        raise Invalid("Answer yes, no or maybe.", fields={"answer": "yes, no or maybe."})
    row = db.session.scalar(
        select(Rsvp).where(Rsvp.meeting_id == meeting.id, Rsvp.member_id == member.id)
    )
    if row is None:
        row = Rsvp(meeting_id=meeting.id, member_id=member.id)
        db.session.add(row)
    row.answer = answer
    row.answered_at = utcnow()
    _commit()
    return row


def rsvps(meeting: Meeting) -> list[Rsvp]:
    return list(
        db.session.scalars(select(Rsvp).where(Rsvp.meeting_id == meeting.id).order_by(Rsvp.id))
    )


def _active_ids(committee: Committee) -> set[int]:
    return set(
        db.session.scalars(
            select(SpaceMembership.member_id).where(
                SpaceMembership.space_id == committee.space_id,
                SpaceMembership.role.in_(ACTIVE_SPACE_ROLES),
            )
        )
    )


def remind_due_meetings(now: datetime | None = None) -> int:
    """Notify (and e-mail) everyone on the committee of meetings starting within
    ADVISORY_REMINDER_HOURS, once per meeting. Returns the meetings reminded."""
    now = now or utcnow()
    horizon = now + timedelta(hours=int(_cfg("ADVISORY_REMINDER_HOURS", 24)))
    due = list(
        db.session.scalars(
            select(Meeting).where(
                Meeting.reminded_at.is_(None),
                Meeting.starts_at > now,
                Meeting.starts_at <= horizon,
            )
        )
    )
    done = 0
    for meeting in due:
        committee = committee_of(meeting.space)
        if committee is None:
            continue
        when = f"{meeting.starts_at:%Y-%m-%d %H:%M} UTC"
        path = url_for("advisory.meeting", slug=meeting.space.slug, meeting_id=meeting.id)
        link = url_for(
            "advisory.meeting", slug=meeting.space.slug, meeting_id=meeting.id, _external=True
        )
        notes = community.queue_notifications(
            _active_ids(committee),
            "meeting",
            actor=None,
            space=meeting.space,
            summary=f"Reminder: {meeting.title} starts {when}",
            url=path,
            email_subject=f"Reminder: {meeting.title}, {when}",
            email_body=f"{meeting.title} starts {when}.\n\nAgenda and RSVP: {link}",
        )
        meeting.reminded_at = now
        _commit()
        community.announce(notes)
        done += 1
    return done


# ---- the action log -----------------------------------------------------------------------


@dataclass
class Entry:
    idea: Idea
    changes: list[StatusChange]
    overdue: bool
    due_on: date

    @property
    def answered(self) -> bool:
        return bool(self.changes)

    @property
    def latest(self) -> StatusChange | None:
        return self.changes[-1] if self.changes else None


@dataclass
class ActionLog:
    entries: list[Entry]
    waiting: list[Entry]
    acted: int
    overdue: int
    response_days: int


def action_log(committee: Committee) -> ActionLog:
    """Every suggestion with what the company did with it; waiting ones oldest first."""
    now = utcnow()
    days = committee.response_days or DEFAULT_RESPONSE_DAYS
    ideas_q = select(Idea).where(Idea.area_id == committee.area_id, Idea.status != "merged")
    suggestions = list(db.session.scalars(ideas_q.order_by(Idea.created_at)))
    changes: dict[int, list[StatusChange]] = {}
    if suggestions:
        for change in db.session.scalars(
            select(StatusChange)
            .where(StatusChange.idea_id.in_([i.id for i in suggestions]))
            .order_by(StatusChange.created_at, StatusChange.id)
        ):
            changes.setdefault(change.idea_id, []).append(change)
    entries = []
    for idea in suggestions:
        answered = changes.get(idea.id, [])
        due = idea.created_at + timedelta(days=days)
        entries.append(Entry(idea, answered, not answered and due < now, due.date()))
    waiting = [e for e in entries if not e.answered]  # already oldest first
    return ActionLog(
        entries=sorted(entries, key=lambda e: e.idea.created_at, reverse=True),
        waiting=waiting,
        acted=len(entries) - len(waiting),
        overdue=sum(1 for e in waiting if e.overdue),
        response_days=days,
    )


# ---- rewards ------------------------------------------------------------------------------


def record_reward(committee: Committee, by, *, member_id, description, amount=None,
                  currency="", given_on=None) -> Reward:  # fmt: skip
    _require_host(committee, by)
    errors: dict = {}
    member = community.row_by_id(Member, member_id)
    if member is None or access.space_role(member, committee.space) is None:
        errors["member"] = "Choose someone on the committee."
    description = community.checked_text(description, "description", errors, maximum=200)
    value = None
    if amount not in (None, ""):
        try:
            value = Decimal(str(amount).strip())
            if not value.is_finite() or value < 0 or value >= Decimal("1e10"):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors["amount"] = "An amount such as 250 or 99.50."
            value = None
        else:
            value = value.quantize(Decimal("0.01"))
    currency = currency.strip().upper() if isinstance(currency, str) else ""
    if currency and (len(currency) != 3 or not currency.isalpha()):
        errors["currency"] = "A three-letter code such as EUR."
    day = _checked_day(given_on, "given_on", errors) if given_on else utcnow().date()
    community.raise_if_invalid(errors)
    reward = Reward(
        space_id=committee.space_id,
        member_id=member.id,
        description=description,
        amount=value,
        currency=currency,
        given_on=day,
        recorded_by_id=by.id,
    )
    db.session.add(reward)
    _commit()
    return reward


def rewards_for(committee: Committee, viewer) -> list[Reward]:
    """Hosts see the whole ledger; anyone else only what they received."""
    query = select(Reward).where(Reward.space_id == committee.space_id)
    if not access.can_host_space(viewer, committee.space):
        if viewer is None or not getattr(viewer, "is_authenticated", False):
            return []
        query = query.where(Reward.member_id == viewer.id)
    return list(db.session.scalars(query.order_by(Reward.given_on.desc(), Reward.id.desc())))


def my_rewards(member: Member) -> list[Reward]:
    """A member's own ledger across committees (alumni included)."""
    return list(
        db.session.scalars(
            select(Reward).where(Reward.member_id == member.id).order_by(Reward.given_on.desc())
        )
    )


def front_counts(committee: Committee) -> dict:
    log = action_log(committee)
    return {
        "suggestions": len(log.entries),
        "acted_upon": log.acted,
        "waiting": len(log.waiting),
        "overdue": log.overdue,
        "members": db.session.scalar(
            select(func.count(SpaceMembership.id)).where(
                SpaceMembership.space_id == committee.space_id, SpaceMembership.role == "member"
            )
        ),
    }


def space_of_seat(seat: Seat) -> Space:
    return db.session.get(Space, seat.space_id)
