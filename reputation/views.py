"""Reputation pages: how it works, leaderboards, badges; staff social value and
participation; the rank next to every member name and the profile's block."""

from __future__ import annotations

import json

from flask import abort, flash, g, render_template, request
from flask_login import current_user

from community import access
from community import services as community
from community.errors import Invalid
from community.extensions import db
from community.help import parse_day
from community.models import Member
from community.shared_pages import shared

from . import analytics, bp, services
from .rules import RULE_TEXT, rules


def _rules():
    if "reputation_rules" not in g:
        g.reputation_rules = rules()
    return g.reputation_rules


@bp.app_template_global("member_rank")
def member_rank(member) -> str:
    """The rank shown next to a member's name. The first call on a page loads the
    totals of every member the page has loaded so far in one query; later calls
    read that per-request cache (a name loaded later costs one more query)."""
    member_id = getattr(member, "id", None)
    if member_id is None:
        return ""
    cache = g.setdefault("reputation_points", {})
    if member_id not in cache:
        shown = {
            obj.id for obj in list(db.session.identity_map.values()) if isinstance(obj, Member)
        }
        cache.update(services.points_of((shown - cache.keys()) | {member_id}))
    return _rules().rank_for(cache[member_id])


@bp.app_template_global("reputation_profile")
def reputation_profile(member) -> dict:
    """What the profile's reputation block (reputation/_profile.html) shows:
    points, rank, badges and the recent points the viewer may see."""
    return services.member_reputation(member, current_user, limit=10)


@bp.app_template_filter("ledger_text")
def ledger_text(entry) -> str:
    return services.describe(entry)


@bp.get("/reputation")
def how_it_works():
    table = _rules()
    points = [(key, RULE_TEXT.get(key, key), table.points[key]) for key in table.points]
    return render_template(
        "reputation/how_it_works.html", table=table, points=points, counts=services.badge_counts()
    )


@bp.get("/leaderboard")
@shared
def leaderboard():
    period = request.args.get("period", "all")
    if period not in services.PERIODS:
        period = "all"
    space = services.space_by_slug(request.args.get("space"), current_user)
    standings = services.leaderboard(current_user, period, space, limit=50)
    return render_template(
        "reputation/leaderboard.html",
        standings=standings,
        period=period,
        space=space,
        spaces=community.list_spaces(current_user),
    )


@bp.get("/badges")
def badges():
    return render_template("reputation/badges.html", table=_rules(), counts=services.badge_counts())


@bp.get("/badges/<badge>")
def badge(badge):
    holders = services.badge_holders(badge)
    name, criterion = _rules().badges[badge]
    return render_template(
        "reputation/badge.html", key=badge, name=name, criterion=criterion, holders=holders
    )


def _staff_only():
    if not access.can_view_social_value(current_user):
        abort(404)


@bp.get("/analytics/social-value")
def social_value():
    _staff_only()
    return render_template(
        "reputation/social_value.html",
        top=services.top_social_value(current_user, limit=50),
        table=_rules(),
    )


@bp.get("/members/<int:member_id>/social-value")
def member_social_value(member_id):
    _staff_only()
    member = community.get_member(member_id)
    value = services.social_value(member, current_user)
    return render_template(
        "reputation/member_social_value.html",
        member=member,
        value=value,
        rep=services.member_reputation(member, current_user, limit=30),
    )


@bp.get("/analytics/participation")
def participation():
    _staff_only()
    start, end = services.default_period()
    try:
        start = parse_day(request.args.get("from"), "from") or start
        end = parse_day(request.args.get("to"), "to") or end
        report = services.participation(current_user, start, end)
    except Invalid as error:
        flash(error.message, "error")
        start, end = services.default_period()
        report = services.participation(current_user, start, end)
    series = {
        "levels": [level.title() for level in analytics.LEVELS],
        "counts": [report.engagement.get(level, 0) for level in analytics.LEVELS],
    }
    return render_template(
        "reputation/participation.html", report=report, series=json.dumps(series)
    )
