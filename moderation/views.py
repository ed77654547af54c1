"""Moderation pages: flagging, the live review queue, one target's actions, the
audit log (with CSV export) and the spam report with its rules."""

from __future__ import annotations

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from community import access
from community import services as community
from community.errors import DomainError, NotFound
from community.models import utcnow
from community.web import page_arg, show_form_errors

from . import bp, services
from .forms import ActionForm, FlagForm, SpamRuleForm
from .models import FLAG_REASON_LABELS, TARGET_TYPES


def _require_moderator():
    if not access.is_moderator(current_user):
        raise NotFound("Not found.")


@bp.before_app_request
def count_visit():
    """Days visited feed trust levels: one write per member and day, at most."""
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return
    member = current_user._get_current_object()
    if member.last_visit_day == utcnow().date().isoformat():
        return
    if community.record_visit(member):
        services.refresh_trust(member)


def _safe_back(default: str) -> str:
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


# ---- flagging ----------------------------------------------------------------------


@bp.route("/flag/<target_type>/<int:target_id>", methods=["GET", "POST"])
@login_required
def flag(target_type, target_id):
    if target_type not in TARGET_TYPES:
        raise NotFound("Nothing to flag here.")
    target = services.load_target(target_type, target_id, current_user)
    form = FlagForm()
    allowed = services.can_flag(current_user)
    if allowed and form.validate_on_submit():
        try:
            services.flag(
                current_user._get_current_object(), target.type, target.id,
                form.reason.data, form.note.data or "",
            )  # fmt: skip
        except DomainError as error:
            show_form_errors(form, error)
        else:
            flash("Thank you. The moderators will take a look.", "success")
            return redirect(target.url)
    status = (422 if allowed else 403) if request.method == "POST" else 200
    return render_template(
        "moderation/flag.html", form=form, target=target, allowed=allowed,
        min_trust=services.setting("MODERATION_FLAG_MIN_TRUST"),
    ), status  # fmt: skip


# ---- the review queue ----------------------------------------------------------------


def _queue_args():
    sort = request.args.get("sort", "newest")
    sort = sort if sort in services.QUEUE_SORTS else "newest"
    kind = request.args.get("kind", "")
    kind = kind if kind in ("flags", "approval", "fraud") else ""
    return sort, kind


@bp.get("/")
def queue():
    _require_moderator()
    sort, kind = _queue_args()
    pagination, entries = services.review_queue(
        current_user, sort=sort, kind=kind or None, page=page_arg()
    )
    return render_template(
        "moderation/queue.html", pagination=pagination, entries=entries, sort=sort, kind=kind,
        form=ActionForm(), reasons=FLAG_REASON_LABELS, open_count=services.open_count(),
    )  # fmt: skip


@bp.get("/queue/items")
def queue_items():
    """The queue's list alone, fetched by the page when the queue changes live."""
    _require_moderator()
    sort, kind = _queue_args()
    pagination, entries = services.review_queue(
        current_user, sort=sort, kind=kind or None, page=page_arg()
    )
    return render_template(
        "moderation/_queue_items.html", pagination=pagination, entries=entries, sort=sort,
        kind=kind, form=ActionForm(), open_count=services.open_count(),
    )  # fmt: skip


@bp.get("/target/<target_type>/<int:target_id>")
def target(target_type, target_id):
    _require_moderator()
    if target_type not in TARGET_TYPES:
        raise NotFound("Not found.")
    found = services.load_target(target_type, target_id, current_user)
    return render_template(
        "moderation/target.html", target=found, form=ActionForm(), actions=services.ACTIONS,
        spaces=community.list_spaces(current_user),
    )  # fmt: skip


@bp.post("/actions")
def act():
    _require_moderator()
    form = ActionForm()
    back = _safe_back(url_for("moderation.queue"))
    if not form.validate_on_submit():
        flash("Your form expired; reload the page and try again.", "error")
        return redirect(back)
    target_id = form.target_id.data or ""
    try:
        services.act(
            current_user._get_current_object(), form.action.data, form.target_type.data,
            int(target_id) if target_id.isdigit() else None, form.reason.data or "",
            until=request.form.get("until") or None, into=request.form.get("into") or None,
            body=request.form.get("body"), level=request.form.get("level"),
        )  # fmt: skip
    except DomainError as error:
        flash(" ".join([error.message, *error.fields.values()]), "error")
    else:
        flash(f"Done: {form.action.data.replace('_', ' ')}.", "success")
    return redirect(back)


@bp.post("/bulk")
def bulk():
    _require_moderator()
    form = ActionForm()
    if not form.validate_on_submit():
        flash("Your form expired; reload the page and try again.", "error")
        return redirect(url_for("moderation.queue"))
    ids = [int(i) for i in request.form.getlist("item_ids") if i.isdigit() and len(i) < 18]
    try:
        result = services.act_on_items(
            current_user._get_current_object(), form.action.data, ids, form.reason.data or ""
        )
    except DomainError as error:
        flash(" ".join([error.message, *error.fields.values()]), "error")
    else:
        flash(f"{len(result.done)} item(s) done.", "success")
        for item_id, message in result.failed.items():
            flash(f"Item {item_id}: {message}", "error")
    return redirect(url_for("moderation.queue"))


# ---- the audit log --------------------------------------------------------------------


def _audit_filters() -> dict:
    args = request.args
    return {
        "actor": args.get("actor", "")[:60] or None,
        "action": args.get("action", "")[:40] or None,
        "date_from": args.get("from", "")[:10] or None,
        "date_to": args.get("to", "")[:10] or None,
    }


@bp.get("/audit-log")
def audit_log():
    _require_moderator()
    filters = _audit_filters()
    try:
        entries = services.audit_log(current_user, page=page_arg(), **filters)
    except DomainError as error:
        flash(error.message, "error")
        filters = dict.fromkeys(filters)
        entries = services.audit_log(current_user, page=1)
    return render_template(
        "moderation/audit_log.html", entries=entries, filters=filters,
        actions=services.audit_actions(),
    )  # fmt: skip


@bp.get("/audit-log.csv")
def audit_log_csv():
    _require_moderator()
    filters = _audit_filters()
    moderator = current_user._get_current_object()
    services.audit_query(moderator, **filters)  # bad filters answer 422 before streaming
    rows = stream_with_context(services.audit_csv(moderator, **filters))
    return Response(
        rows,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=moderation-audit-log.csv"},
    )


# ---- spam ---------------------------------------------------------------------------------


@bp.route("/spam", methods=["GET", "POST"])
def spam():
    _require_moderator()
    form = SpamRuleForm()
    if form.validate_on_submit():
        try:
            services.add_spam_rule(
                current_user._get_current_object(), form.kind.data, form.value.data
            )
        except DomainError as error:
            show_form_errors(form, error)
        else:
            flash("Rule added: matching content now waits for approval.", "success")
            return redirect(url_for("moderation.spam"))
    report = services.spam_report(current_user)
    series = {
        "labels": [week for week, _a, _r in report.by_week],
        "approved": [a for _w, a, _r in report.by_week],
        "rejected": [r for _w, _a, r in report.by_week],
    }
    status = 422 if request.method == "POST" else 200
    return render_template(
        "moderation/spam.html", form=form, report=report, series=series,
        rules=services.spam_rules(current_user),
    ), status  # fmt: skip


@bp.post("/spam/rules/<int:rule_id>/delete")
def delete_spam_rule(rule_id):
    _require_moderator()
    services.remove_spam_rule(current_user._get_current_object(), rule_id)  # CSRF: app-wide
    flash("Rule removed.", "info")
    return redirect(url_for("moderation.spam"))
