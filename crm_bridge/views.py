"""Staff pages of the CRM bridge: the built-in CRM (contacts, accounts, the customer
360, CSV import, cases), identity links, and the admins' outbox page."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from community import access
from community import services as community
from community.errors import DomainError
from community.web import page_arg

from . import bp, outbox, services
from .models import Case, Contact


@bp.app_template_global("crm_thread_cases")
def crm_thread_cases(thread) -> Markup:
    """The support cases opened from a thread, with the CRM's status and resolution,
    for their customer and for staff (the thread page includes this)."""
    cases = services.thread_cases(thread, current_user)
    can_escalate = services.can_escalate(current_user)
    if not cases and not can_escalate:
        return Markup("")
    # render_template autoescapes: the result is safe HTML.
    html = render_template(
        "crm_bridge/_thread_cases.html", cases=cases, thread=thread, can_escalate=can_escalate
    )
    return Markup(html)  # noqa: S704


@bp.app_template_global("crm_customers_url")
def crm_customers_url() -> str:
    """The staff menu's link to the built-in CRM."""
    return url_for("crm_bridge.contacts")


def _staff():
    if not access.can_view_support_analytics(current_user):
        abort(404)


def _admin():
    if not access.can_manage_spaces(current_user):
        abort(404)


def _flash_error(error: DomainError) -> None:
    flash(" ".join([error.message, *map(str, error.fields.values())]), "error")


@bp.get("/")
def index():
    _staff()
    return redirect(url_for("crm_bridge.contacts"))


@bp.get("/contacts")
def contacts():
    _staff()
    q = (request.args.get("q") or "")[:100]
    page = services.list_contacts(current_user, q=q, page=page_arg())
    return render_template("crm_bridge/contacts.html", contacts=page, q=q)


@bp.get("/accounts")
def accounts():
    _staff()
    return render_template(
        "crm_bridge/accounts.html", accounts=services.list_accounts(current_user)
    )


@bp.get("/contacts/<int:contact_id>")
def contact(contact_id):
    _staff()
    contact = services.get_contact(contact_id)
    view = services.customer_360(contact, current_user)
    trend = json.dumps(view["sentiment_trend"])
    return render_template("crm_bridge/contact.html", contact=contact, view=view, trend=trend)


@bp.route("/contacts/new", methods=["GET", "POST"])
def new_contact():
    _admin()
    return _contact_form(None)


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
def edit_contact(contact_id):
    _admin()
    return _contact_form(services.get_contact(contact_id))


def _contact_form(contact: Contact | None):
    errors: dict = {}
    values = dict(request.form) if request.method == "POST" else {}
    if request.method == "POST":
        data = {k: request.form.get(k) for k in (
            "email", "name", "account", "segment", "tier", "owner", "customer_value",
            "renewal_on", "sso_id")}  # fmt: skip
        data["custom_fields"] = contact.custom_fields if contact else {}
        try:
            contact = services.save_contact(data, by=current_user, contact=contact)
        except DomainError as error:
            errors = error.fields or {"email": error.message}
        else:
            flash(f"Contact {contact.email} saved.", "success")
            return redirect(url_for("crm_bridge.contact", contact_id=contact.id))
    elif contact is not None:
        values = {
            "email": contact.email, "name": contact.name,
            "account": contact.account.name if contact.account else "",
            "segment": contact.segment or "", "tier": contact.tier or "",
            "owner": contact.owner or "",
            "customer_value": contact.customer_value if contact.customer_value is not None else "",
            "renewal_on": contact.renewal_on.isoformat() if contact.renewal_on else "",
            "sso_id": contact.sso_id or "",
        }  # fmt: skip
    return render_template(
        "crm_bridge/contact_form.html", contact=contact, values=values, errors=errors
    ), (422 if errors else 200)


@bp.post("/contacts/<int:contact_id>/link")
def link(contact_id):
    _admin()
    contact = services.get_contact(contact_id)
    email = (request.form.get("email") or "").strip()[:254]
    member = community.find_member_by_email(email) if email else None
    if member is None:
        flash("No member has that e-mail address.", "error")
    else:
        try:
            services.link_member(
                member, contact, by=current_user, reason=request.form.get("reason")
            )
        except DomainError as error:
            _flash_error(error)
        else:
            flash(f"{member.display_name} is now linked to {contact.email}.", "success")
    return redirect(url_for("crm_bridge.contact", contact_id=contact.id))


@bp.post("/contacts/<int:contact_id>/unlink")
def unlink(contact_id):
    _admin()
    contact = services.get_contact(contact_id)
    if contact.link is None:
        flash("This contact is not linked.", "error")
    else:
        member = contact.link.member
        try:
            services.unlink_member(member, by=current_user, reason=request.form.get("reason"))
        except DomainError as error:
            _flash_error(error)
        else:
            flash(f"{member.display_name} is no longer linked to {contact.email}.", "success")
    return redirect(url_for("crm_bridge.contact", contact_id=contact.id))


@bp.route("/import", methods=["GET", "POST"])
def import_contacts():
    """Upload → preview with row-level errors → confirm; nothing is written before."""
    _admin()
    preview, text = None, ""
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            text = upload.read().decode("utf-8", errors="replace")
        else:
            text = request.form.get("text") or ""
        if request.form.get("confirm") == "yes":
            try:
                done = services.confirm_import(text, by=current_user)
            except DomainError as error:
                _flash_error(error)
            else:
                skipped = len(done.invalid)
                flash(
                    f"Imported {len(done.valid)} contact(s)"
                    + (f"; {skipped} row(s) with errors were skipped." if skipped else "."),
                    "success",
                )
                return redirect(url_for("crm_bridge.contacts"))
        preview = services.preview_import(text)
    return render_template("crm_bridge/import.html", preview=preview, text=text)


@bp.get("/admin")
def admin():
    _admin()
    report = outbox.status()
    series = json.dumps(report.lag)
    return render_template(
        "crm_bridge/admin.html",
        report=report,
        series=series,
        conflicts=services.open_conflicts(),
        changes=services.recent_link_changes(),
    )


@bp.post("/admin/replay")
def replay():
    _admin()
    raw = request.form.get("id")
    ids = [int(raw)] if raw and raw.isdigit() and len(raw) < 18 else None
    count = outbox.replay_dead(ids)
    flash(f"Re-queued {count} dead letter(s).", "success")
    return redirect(url_for("crm_bridge.admin"))


@bp.post("/admin/conflicts/<int:conflict_id>/dismiss")
def dismiss_conflict(conflict_id):
    _admin()
    try:
        services.dismiss_conflict(conflict_id, by=current_user)
    except DomainError as error:
        _flash_error(error)
    return redirect(url_for("crm_bridge.admin"))


@bp.post("/threads/<int:thread_id>/escalate")
def escalate(thread_id):
    """A support agent opens a case for the thread's author (the CRM gets it)."""
    _staff()
    thread = community.get_thread(thread_id, current_user)
    try:
        case = services.escalate_thread(
            thread, by=current_user, description=request.form.get("description")
        )
    except DomainError as error:
        _flash_error(error)
    else:
        flash(f"Case {case.reference} opened for {thread.author.display_name}.", "success")
    return redirect(url_for("community.thread", thread_id=thread.id))


@bp.route("/cases/<int:case_id>", methods=["GET", "POST"])
def case(case_id):
    _staff()
    case = services.get_case(case_id, current_user)
    if request.method == "POST":
        try:
            services.update_case(
                case, by=current_user, status=request.form.get("status"),
                resolution=request.form.get("resolution"),
            )  # fmt: skip
        except DomainError as error:
            _flash_error(error)
        else:
            flash(f"Case {case.reference} saved.", "success")
        return redirect(url_for("crm_bridge.case", case_id=case.id))
    return render_template("crm_bridge/case.html", case=case)


@bp.post("/cases/<int:case_id>/publish")
def publish(case_id):
    _staff()
    case: Case = services.get_case(case_id, current_user)
    try:
        post = services.publish_resolution(case, by=current_user)
    except DomainError as error:
        _flash_error(error)
        target = request.form.get("back") == "thread" and case.support_case
        if target and case.support_case.thread_id:
            return redirect(url_for("community.thread", thread_id=case.support_case.thread_id))
        return redirect(url_for("crm_bridge.case", case_id=case.id))
    flash("The resolution is published on the thread.", "success")
    return redirect(url_for("community.post", post_id=post.id))
