"""HTML pages of the help flow (/help) and the staff's deflection analytics.

The help page works without JavaScript (suggestions for a submitted problem,
a support-case form), but only its script counts a deflection: it sends the
page's signed token with "This solved my problem", which a robot that does not
run scripts never has.
"""

from __future__ import annotations

import json

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer

from . import access, bp, help, search, services
from .errors import DomainError, Invalid
from .extensions import limiter
from .forms import CaseForm
from .web import viewer_key

PAGE_TOKEN_MAX_AGE = 24 * 3600
QUERY_MAX = help.QUERY_MAX


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="parley.help-page")


def page_token() -> str:
    """A token for this visitor's help page; its script sends it back."""
    return _serializer().dumps(viewer_key())


def page_token_ok(token) -> bool:
    """The token was issued to this same visitor within the last day."""
    if not isinstance(token, str) or not token or len(token) > 500:
        return False
    try:
        return _serializer().loads(token, max_age=PAGE_TOKEN_MAX_AGE) == viewer_key()
    except BadData:
        return False


def _problem() -> str:
    value = request.values.get("q", "")
    return value.strip()[:QUERY_MAX] if isinstance(value, str) else ""


def _suggestions(q: str) -> dict:
    hits = search.help_suggestions(current_user, q) if q else []
    return {
        "q": q,
        "hits": hits,
        "solutions": help.solutions([hit.id for hit in hits], current_user),
    }


def _help_page(form: CaseForm, q: str, status: int = 200):
    return render_template(
        "community/help.html",
        form=form,
        token=page_token(),
        spaces=services.list_spaces(current_user),
        **_suggestions(q),
    ), status


@bp.get("/help")
def help_page():
    q = _problem()
    form = CaseForm()
    form.subject.data = q[:200]
    form.query.data = q
    return _help_page(form, q)


@bp.get("/help/suggestions")
def help_suggestions():
    """The suggestions as an HTML fragment, fetched by the page while typing."""
    return render_template("community/_help_suggestions.html", **_suggestions(_problem()))


@bp.post("/help/solved")
def help_solved():
    """ "This solved my problem" without the page's script: thanked, not counted."""
    q = _problem()
    try:
        result = help.confirm_solution(
            request.form.get("thread_id"),
            q,
            by=current_user,
            visitor_key=viewer_key(),
            user_agent=request.user_agent.string,
            scripted=False,
        )
    except Invalid as error:
        flash(error.message, "error")
        return redirect(url_for("community.help_page", q=q))
    flash("Glad that helped! Thank you for letting us know.", "success")
    return redirect(url_for("community.thread", thread_id=result.thread.id))


@bp.get("/help/ask")
def help_ask():
    """Still need help: ask the community, with the problem as the title."""
    space = services.get_space(request.args.get("space", ""), current_user)
    return redirect(url_for("community.new_thread", slug=space.slug, title=_problem()[:200]))


@bp.post("/help/cases")
@limiter.limit(lambda: current_app.config["RATELIMIT_CASES"])
def help_open_case():
    form = CaseForm()
    q = (form.query.data or "")[:QUERY_MAX]
    if form.validate_on_submit():
        try:
            case = help.open_case(
                form.subject.data,
                form.description.data,
                form.email.data,
                by=current_user,
                visitor_key=viewer_key(),
                query=q,
                thread_id=form.thread_id.data or None,
            )
        except DomainError as error:
            for field, message in error.fields.items():
                if field in form:
                    form[field].errors = [*list(form[field].errors or []), message]
            if not error.fields:
                flash(error.message, "error")
        else:
            return redirect(url_for("community.help_case", reference=case.reference))
    return _help_page(form, q, status=422)


@bp.get("/help/cases/<reference>")
def help_case(reference):
    case = help.get_case(reference, current_user, viewer_key())
    return render_template("community/help_case.html", case=case)


@bp.get("/analytics/deflection")
def deflection_analytics():
    if not access.can_view_support_analytics(current_user):
        abort(404)
    start, end = help.default_period()
    try:
        start = help.parse_day(request.args.get("from"), "from") or start
        end = help.parse_day(request.args.get("to"), "to") or end
        report = help.deflection_report(current_user, start, end)
    except Invalid as error:
        flash(error.message, "error")
        start, end = help.default_period()
        report = help.deflection_report(current_user, start, end)
    series = {
        "labels": [figure.day.isoformat() for figure in report.by_day],
        "deflected": [figure.deflected for figure in report.by_day],
        "escalated": [figure.escalated for figure in report.by_day],
    }
    return render_template(
        "community/analytics_deflection.html", report=report, series=json.dumps(series)
    )
