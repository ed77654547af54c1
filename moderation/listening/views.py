"""Listening pages: the support queue of alerts, and the watchlists."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from community import access
from community.errors import DomainError
from community.web import page_arg, show_form_errors

from . import bp, services
from .forms import EscalateForm, WatchlistForm
from .models import ALERT_KINDS, KIND_LABELS


def _require_listener() -> None:
    # Staff pages do not exist for anyone else, like the other staff pages.
    if not access.can_listen(current_user):
        abort(404)


@bp.get("/")
@login_required
def queue():
    _require_listener()
    kind = request.args.get("kind") if request.args.get("kind") in ALERT_KINDS else None
    state = request.args.get("state")
    state = state if state in services.ALERT_STATES else "open"
    alerts = services.list_alerts(current_user, kind=kind, state=state, page=page_arg())
    report = services.listening_report(current_user)
    series = {
        "labels": [d.isoformat() for d in report.days],
        "sentiment": report.average_sentiment,
        "alerts": report.alerts_per_day,
    }
    return render_template(
        "listening/queue.html",
        alerts=alerts,
        kind=kind,
        state=state,
        kinds=KIND_LABELS,
        cases=services.open_cases_of(a.member_id for a in alerts.items),
        trends=services.recent_sentiment_of([a.member_id for a in alerts.items], current_user),
        report=report,
        series=json.dumps(series),
        threshold=services.at_risk_threshold(),
        escalate_form=EscalateForm(),
        alert_about=services.about,
        alert_text=services.quoted_text,
    )


@bp.post("/alerts/<int:alert_id>/handled")
@login_required
def handled(alert_id):
    _require_listener()
    alert = services.get_alert(alert_id, current_user)
    try:
        services.handle_alert(alert, current_user, request.form.get("action") or "dismissed")
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("Alert marked handled.", "success")
    return redirect(url_for("listening.queue"))


@bp.post("/alerts/<int:alert_id>/escalate")
@login_required
def escalate(alert_id):
    _require_listener()
    alert = services.get_alert(alert_id, current_user)
    form = EscalateForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("listening.queue"))
    try:
        case = services.escalate_alert(
            alert, current_user, form.subject.data or None, form.description.data or None
        )
    except DomainError as error:
        flash(" ".join([error.message, *error.fields.values()]), "error")
    else:
        flash(f"Support case {case.reference} opened for {alert.member.display_name}.", "success")
    return redirect(url_for("listening.queue"))


@bp.route("/watchlists", methods=["GET", "POST"])
@login_required
def watchlists():
    _require_listener()
    form = WatchlistForm()
    status = 200
    if form.validate_on_submit():
        try:
            watchlist = services.create_watchlist(
                current_user, form.name.data, form.terms.data, form.kind.data
            )
        except DomainError as error:
            show_form_errors(form, error)
            status = 422
        else:
            flash(f"Watchlist “{watchlist.name}” is listening.", "success")
            return redirect(url_for("listening.watchlists"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "listening/watchlists.html",
        watchlists=services.list_watchlists(current_user),
        form=form,
        kinds=KIND_LABELS,
    ), status


@bp.route("/watchlists/<int:watchlist_id>", methods=["GET", "POST"])
@login_required
def watchlist(watchlist_id):
    _require_listener()
    item = services.get_watchlist(watchlist_id, current_user)
    form = WatchlistForm(obj=None)
    if request.method == "GET":
        form.name.data, form.kind.data = item.name, item.kind
        form.terms.data = "\n".join(item.term_texts)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_watchlist(
                item, current_user, form.name.data, form.terms.data, form.kind.data
            )
        except DomainError as error:
            show_form_errors(form, error)
            status = 422
        else:
            flash("Watchlist saved.", "success")
            return redirect(url_for("listening.watchlists"))
    elif request.method == "POST":
        status = 422
    return render_template("listening/watchlist.html", watchlist=item, form=form), status


@bp.post("/watchlists/<int:watchlist_id>/delete")
@login_required
def delete_watchlist(watchlist_id):
    _require_listener()
    item = services.get_watchlist(watchlist_id, current_user)
    name = item.name
    try:
        services.delete_watchlist(item, current_user)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(f"Watchlist “{name}” deleted; its alerts stay.", "success")
    return redirect(url_for("listening.watchlists"))
