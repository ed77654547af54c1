"""Advisory committee pages: parse the request, call a service, render.

Every page of a committee starts from ``services.get_committee``, which answers
"not found" to anyone the access policy does not let in (alumni included)."""

from __future__ import annotations

import time

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from community import access
from community import services as community
from community.errors import DomainError, NotFound
from community.extensions import limiter
from community.web import show_form_errors

from . import bp, services
from .forms import (
    AcceptForm,
    ActionForm,
    AssignCohortForm,
    CharterForm,
    CohortForm,
    InviteForm,
    MeetingForm,
    RewardForm,
    RsvpForm,
    RuleForm,
)
from .models import RSVP_LABELS

_last_checks = {"at": 0.0}


def _limit(name: str):
    return limiter.limit(lambda: current_app.config[name], methods=["POST"])


def _due_checks() -> None:
    """In-process upkeep (besides `flask advisory remind`): at most every few
    minutes per process, remind members of meetings and end finished terms."""
    now = time.monotonic()
    if now - _last_checks["at"] < current_app.config.get("ADVISORY_CHECK_SECONDS", 300):
        return
    _last_checks["at"] = now
    services.end_terms()
    services.remind_due_meetings()


def _host_only(committee):
    if not access.can_host_space(current_user, committee.space):
        abort(404)


def _back(committee, endpoint="advisory.space", **values):
    return redirect(url_for(endpoint, slug=committee.space.slug, **values))


@bp.app_template_global("advisory_badge")
def advisory_badge(member) -> Markup:
    """The "Advisory committee" badge next to a name: it says the member belongs
    (or belonged) to a committee, never which one or what it discusses."""
    if not services.has_badge(member):
        return Markup("")
    return Markup(
        ' <span class="tag advisory-badge" title="Member of a customer advisory committee">'
        "Advisory committee</span>"
    )


@bp.app_template_global("in_advisory_committee")
def in_advisory_committee(member) -> bool:
    """Show the Committees link to admins and to hosts and members of one."""
    return services.sits_on_a_committee(member)


# ---- committees ---------------------------------------------------------------------


@bp.get("/")
def index():
    return render_template(
        "advisory/index.html",
        committees=services.list_committees(current_user),
        rewards=services.my_rewards(current_user) if current_user.is_authenticated else [],
    )


@bp.get("/<slug>")
def space(slug):
    committee = services.get_committee(slug, current_user)
    _due_checks()
    is_host = access.can_host_space(current_user, committee.space)
    upcoming, past = services.meetings(committee)
    seat = services.seat_of(committee, current_user)
    return render_template(
        "advisory/space.html",
        committee=committee,
        space=committee.space,
        log=services.action_log(committee),
        counts=services.front_counts(committee),
        upcoming=upcoming[:5],
        past=past[:5],
        is_host=is_host,
        seat=seat,
        area=services.area_of(committee),
        accept_form=AcceptForm(),
        leave_form=ActionForm(),
        meeting_form=MeetingForm(),
    )


@bp.route("/<slug>/charter", methods=["GET", "POST"])
@_limit("RATELIMIT_POSTING")
def charter(slug):
    committee = services.get_committee(slug, current_user)
    is_host = access.can_host_space(current_user, committee.space)
    form = CharterForm(obj=committee if request.method == "GET" else None)
    if request.method == "POST":
        _host_only(committee)
        if form.validate_on_submit():
            try:
                services.update_charter(
                    committee,
                    current_user,
                    purpose=form.purpose.data,
                    time_commitment=form.time_commitment.data,
                    recognition=form.recognition.data,
                    response_days=form.response_days.data,
                )
            except DomainError as error:
                show_form_errors(form, error)
            else:
                flash("Charter saved. Members are asked to accept the new version.", "success")
                return _back(committee, "advisory.charter")
    status = 422 if request.method == "POST" else 200
    return render_template(
        "advisory/charter.html", committee=committee, space=committee.space, form=form,
        is_host=is_host,
    ), status  # fmt: skip


@bp.post("/<slug>/charter/accept")
@login_required
def accept_charter(slug):
    committee = services.get_committee(slug, current_user)
    form = AcceptForm()
    if form.validate_on_submit() and form.accept_charter.data:
        services.accept_current_charter(committee, current_user)
        flash("Thank you: you accepted the current charter.", "success")
    else:
        flash("Tick the box to accept the charter.", "error")
    return _back(committee)


@bp.post("/<slug>/leave")
@login_required
def leave(slug):
    committee = services.get_committee(slug, current_user)
    if ActionForm().validate_on_submit():
        try:
            services.leave(committee, current_user)
        except DomainError as error:
            flash(error.message, "error")
            return _back(committee)
        flash(f"You left {committee.space.name}.", "info")
    return redirect(url_for("advisory.index"))


# ---- people and invitations ----------------------------------------------------------


@bp.get("/<slug>/members")
def members(slug):
    committee = services.get_committee(slug, current_user)
    is_host = access.can_host_space(current_user, committee.space)
    cohorts = services.list_cohorts(committee)
    cohort_form = AssignCohortForm()
    cohort_form.cohort.choices = [(str(c.id), c.name) for c in cohorts]
    return render_template(
        "advisory/members.html",
        committee=committee,
        space=committee.space,
        people=services.people(committee),
        is_host=is_host,
        invitations=services.pending_invitations(committee) if is_host else [],
        cohorts=cohorts,
        invite_form=InviteForm(),
        action_form=ActionForm(),
        cohort_form=cohort_form,
        new_cohort_form=CohortForm(),
    )


@bp.post("/<slug>/invitations")
@login_required
@_limit("RATELIMIT_POSTING")
def invite(slug):
    committee = services.get_committee(slug, current_user)
    _host_only(committee)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            _invitation, _url = services.invite(committee, current_user, email=form.email.data)
        except DomainError as error:
            flash(" ".join([error.message, *error.fields.values()]), "error")
        else:
            flash(f"Invitation e-mailed to {form.email.data}.", "success")
    return _back(committee, "advisory.members")


@bp.post("/<slug>/invitations/<int:invitation_id>/revoke")
@login_required
def revoke(slug, invitation_id):
    committee = services.get_committee(slug, current_user)
    _host_only(committee)
    invitation = services.get_invitation_by_id(committee, invitation_id, current_user)
    if ActionForm().validate_on_submit():
        try:
            services.revoke_invitation(invitation, current_user)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash("Invitation withdrawn; its link no longer works.", "info")
    return _back(committee, "advisory.members")


@bp.post("/<slug>/members/<int:member_id>/remove")
@login_required
def remove(slug, member_id):
    committee = services.get_committee(slug, current_user)
    _host_only(committee)
    member = community.get_member(member_id)
    if ActionForm().validate_on_submit():
        try:
            services.remove_member(committee, member, current_user)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(f"{member.display_name} no longer has access.", "info")
    return _back(committee, "advisory.members")


@bp.post("/<slug>/members/<int:member_id>/cohort")
@login_required
def assign_cohort(slug, member_id):
    committee = services.get_committee(slug, current_user)
    _host_only(committee)
    member = community.get_member(member_id)
    form = AssignCohortForm()
    form.cohort.choices = [(str(c.id), c.name) for c in services.list_cohorts(committee)]
    if form.validate_on_submit():
        try:
            services.assign_cohort(committee, member, int(form.cohort.data), current_user)
        except DomainError as error:
            flash(error.message, "error")
    else:
        flash("Choose a cohort.", "error")
    return _back(committee, "advisory.members")


@bp.post("/<slug>/cohorts")
@login_required
def create_cohort(slug):
    committee = services.get_committee(slug, current_user)
    _host_only(committee)
    form = CohortForm()
    if form.validate_on_submit():
        try:
            services.create_cohort(
                committee,
                current_user,
                name=form.name.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
            )
        except DomainError as error:
            flash(" ".join([error.message, *error.fields.values()]), "error")
        else:
            flash("Cohort added.", "success")
    else:
        flash("Give the cohort a name and a term (start and end dates).", "error")
    return _back(committee, "advisory.members")


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@_limit("RATELIMIT_POSTING")
def invitation(token):
    """The link from the e-mail: sign in or register first (coming back here),
    then read the charter and accept it."""
    invitation = services.open_invitation(token)
    if not current_user.is_authenticated:
        here = url_for("advisory.invitation", token=token)
        return render_template("advisory/invitation_sign_in.html", invitation=invitation, here=here)
    if not services.is_invitee(invitation, current_user):
        raise NotFound("This invitation was sent to someone else.")
    committee = services.committee_of(invitation.space)
    form = AcceptForm()
    if form.validate_on_submit():
        try:
            services.accept_invitation(token, current_user, form.accept_charter.data is True)
        except DomainError as error:
            show_form_errors(form, error)
        else:
            flash(f"Welcome to {committee.space.name}!", "success")
            return _back(committee)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "advisory/invitation.html", invitation=invitation, committee=committee, form=form
    ), status


# ---- meetings --------------------------------------------------------------------------


@bp.post("/<slug>/meetings")
@login_required
@_limit("RATELIMIT_POSTING")
def create_meeting(slug):
    committee = services.get_committee(slug, current_user)
    _host_only(committee)
    form = MeetingForm()
    if form.validate_on_submit():
        try:
            meeting = services.create_meeting(
                committee,
                current_user,
                title=form.title.data,
                starts_at=form.starts_at.data,
                agenda=form.agenda.data,
            )
        except DomainError as error:
            flash(" ".join([error.message, *error.fields.values()]), "error")
        else:
            return _back(committee, "advisory.meeting", meeting_id=meeting.id)
    return _back(committee)


@bp.route("/<slug>/meetings/<int:meeting_id>", methods=["GET", "POST"])
@_limit("RATELIMIT_POSTING")
def meeting(slug, meeting_id):
    committee = services.get_committee(slug, current_user)
    meeting = services.get_meeting(committee, meeting_id)
    is_host = access.can_host_space(current_user, committee.space)
    form = MeetingForm(obj=meeting if request.method == "GET" else None)
    if request.method == "GET":
        form.starts_at.data = meeting.starts_at.strftime("%Y-%m-%dT%H:%M")
    if request.method == "POST":
        _host_only(committee)
        if form.validate_on_submit():
            try:
                services.update_meeting(
                    meeting,
                    current_user,
                    title=form.title.data,
                    starts_at=form.starts_at.data,
                    agenda=form.agenda.data,
                    minutes=form.minutes.data,
                )
            except DomainError as error:
                show_form_errors(form, error)
            else:
                flash("Meeting saved.", "success")
                return _back(committee, "advisory.meeting", meeting_id=meeting.id)
    answers = services.rsvps(meeting)
    mine = next((a for a in answers if a.member_id == getattr(current_user, "id", None)), None)
    rsvp_form = RsvpForm(answer=mine.answer if mine else None)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "advisory/meeting.html",
        committee=committee,
        space=committee.space,
        meeting=meeting,
        answers=answers,
        mine=mine,
        labels=RSVP_LABELS,
        is_host=is_host,
        form=form,
        rsvp_form=rsvp_form,
    ), status


@bp.post("/<slug>/meetings/<int:meeting_id>/rsvp")
@login_required
def rsvp(slug, meeting_id):
    committee = services.get_committee(slug, current_user)
    meeting = services.get_meeting(committee, meeting_id)
    form = RsvpForm()
    try:
        services.rsvp(
            meeting, current_user, form.answer.data if form.validate_on_submit() else None
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("Thanks, your answer is saved.", "success")
    return _back(committee, "advisory.meeting", meeting_id=meeting.id)


# ---- the action log ----------------------------------------------------------------------


@bp.get("/<slug>/action-log")
def action_log(slug):
    committee = services.get_committee(slug, current_user)
    return render_template(
        "advisory/action_log.html",
        committee=committee,
        space=committee.space,
        log=services.action_log(committee),
        is_host=access.can_host_space(current_user, committee.space),
        area=services.area_of(committee),
    )


# ---- CRM rules ---------------------------------------------------------------------------


def _rule_form(committee) -> RuleForm:
    form = RuleForm()
    form.cohort.choices = [("", "No cohort")] + [
        (str(c.id), c.name) for c in services.list_cohorts(committee)
    ]
    return form


def _conditions(form: RuleForm) -> list[dict]:
    conditions = []
    for n in (1, 2):
        field = form[f"field_{n}"].data
        if not field:
            continue
        conditions.append(
            {
                "field": field,
                "op": form[f"op_{n}"].data,
                "value": form[f"value_{n}"].data,
                "key": form[f"key_{n}"].data,
            }
        )
    return conditions


@bp.route("/<slug>/rules", methods=["GET", "POST"])
@login_required
def rules(slug):
    committee = services.get_committee(slug, current_user)
    _host_only(committee)
    form = _rule_form(committee)
    if form.validate_on_submit():
        try:
            services.create_rule(
                committee,
                current_user,
                name=form.name.data,
                conditions=_conditions(form),
                cohort_id=int(form.cohort.data) if form.cohort.data else None,
            )
        except DomainError as error:
            show_form_errors(form, error)
            flash(" ".join(error.fields.values()), "error")
        else:
            flash("Rule saved. Run it to invite the customers who match.", "success")
            return _back(committee, "advisory.rules")
    status = 422 if request.method == "POST" else 200
    return render_template(
        "advisory/rules.html",
        committee=committee,
        space=committee.space,
        rules=services.list_rules(committee),
        describe=services.describe_condition,
        form=form,
        action_form=ActionForm(),
    ), status


@bp.post("/<slug>/rules/<int:rule_id>/run")
@login_required
@_limit("RATELIMIT_POSTING")
def run_rule(slug, rule_id):
    committee = services.get_committee(slug, current_user)
    _host_only(committee)
    rule = next((r for r in services.list_rules(committee) if r.id == rule_id), None)
    if rule is None:
        abort(404)
    if ActionForm().validate_on_submit():
        made = services.run_rule(rule, current_user)
        flash(f"{len(made)} new invitation(s) e-mailed; nobody was added silently.", "success")
    return _back(committee, "advisory.rules")


# ---- rewards -------------------------------------------------------------------------------


@bp.route("/<slug>/rewards", methods=["GET", "POST"])
@login_required
def rewards(slug):
    committee = services.get_committee(slug, current_user)
    is_host = access.can_host_space(current_user, committee.space)
    form = RewardForm()
    form.member.choices = [
        (str(p.member.id), p.member.display_name)
        for p in services.people(committee)
        if p.role != "host"
    ]
    if request.method == "POST":
        _host_only(committee)
        if form.validate_on_submit():
            try:
                services.record_reward(
                    committee,
                    current_user,
                    member_id=int(form.member.data) if form.member.data.isdigit() else None,
                    description=form.description.data,
                    amount=form.amount.data,
                    currency=form.currency.data or "",
                    given_on=form.given_on.data,
                )
            except DomainError as error:
                show_form_errors(form, error)
            else:
                flash("Reward recorded.", "success")
                return _back(committee, "advisory.rewards")
    status = 422 if request.method == "POST" else 200
    return render_template(
        "advisory/rewards.html",
        committee=committee,
        space=committee.space,
        rewards=services.rewards_for(committee, current_user),
        is_host=is_host,
        form=form,
    ), status
