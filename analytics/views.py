"""The analytics dashboard (/analytics) and its settings (/analytics/settings).
The page carries no figures of its own: static/js/analytics.js draws every panel
from the JSON API, so the filter redraws without a page load."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from community import access
from community.errors import Invalid

from . import bp, panels, services
from .forms import DashboardRolesForm

# Dashboard order: what a board asks first.
ORDER = ("return", "support", "deflection", "participation", "people", "ideas", "advisory",
         "listening")  # fmt: skip


@bp.app_context_processor
def _nav():
    return {"can_view_analytics": services.can_view_dashboard}


@bp.get("/analytics")
def dashboard():
    if not services.can_view_dashboard(current_user):
        abort(404)
    start, end = panels.help.default_period()
    names = [n for n in ORDER if n in panels.PANELS]
    return render_template(
        "analytics/dashboard.html",
        panels=[panels.PANELS[n] for n in names],
        segments=panels.segments(),
        start=start,
        end=end,
        can_configure=access.can_configure_analytics(current_user),
    )


@bp.route("/analytics/settings", methods=["GET", "POST"])
def settings():
    if not access.can_configure_analytics(current_user):
        abort(404)
    form = DashboardRolesForm()
    if form.validate_on_submit():
        try:
            services.set_dashboard_roles(form.roles.data or [], by=current_user)
        except Invalid as error:
            form.roles.errors = [*form.roles.errors, error.message]
        else:
            flash("Saved: the dashboard's audience changed.", "success")
            return redirect(url_for("analytics.settings"))
    elif not form.is_submitted():
        form.roles.data = services.dashboard_roles()
    return render_template("analytics/settings.html", form=form)
