"""What every page shares: security headers, template helpers, cookie hardening."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import Flask, flash, g, has_request_context, request, session
from flask import Response as FlaskResponse
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from . import access, events, services
from .errors import Invalid, NotFound, RateLimited
from .markup import as_markup, excerpt
from .models import utcnow


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route. A number no id can be (ids are 32-bit on
    PostgreSQL) becomes 0, which no row has, so the page answers "not found"
    like any unknown id, before a query could overflow. (A converter that
    refused the number would make Werkzeug answer 405 where two rules share
    a path.)"""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= services.MAX_ID else 0


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def page_arg() -> int:
    """The ?page= of a list: 1 for anything that is not a positive number."""
    page = request.args.get("page", 1, type=int)
    return page if page and page > 0 else 1


def show_form_errors(form, error) -> None:
    """Attach a service's field errors to the form's fields; anything else is flashed.
    A rate limit is not a form error: it answers 429 saying when to try again."""
    if isinstance(error, RateLimited):
        raise error
    shown = False
    for field, message in error.fields.items():
        if field in form:
            form[field].errors = [*list(form[field].errors or []), message]
            shown = True
    if not shown:
        flash(error.message, "error")


def session_key() -> str:
    """A random id for this browser session: counts its views once and lets a
    sign-out close exactly its own live connections."""
    key = session.get("key")
    if not key:
        key = secrets.token_urlsafe(16)
        session["key"] = key
    return key


def viewer_key() -> str:
    if current_user.is_authenticated:
        return f"m:{current_user.id}"
    return f"s:{session_key()}"


def timeago(value: datetime | None) -> str:
    if value is None:
        return ""
    seconds = int((utcnow() - value).total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("year", 31_536_000), ("month", 2_592_000), ("day", 86_400),
                       ("hour", 3_600), ("minute", 60)):  # fmt: skip
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


class Response(FlaskResponse):
    """Cookies set while serving HTTPS (directly or behind ProxyFix) are Secure, so
    the session and remember-me cookies are never sent back over plain HTTP."""

    def set_cookie(self, key, *args, **kwargs):
        if has_request_context() and request.is_secure:
            kwargs["secure"] = True
        return super().set_cookie(key, *args, **kwargs)


def _carries_nul(multidict) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in multidict.lists()
    )


def _body_carries_nul() -> bool:
    if request.mimetype == "multipart/form-data":  # files may hold any byte
        return _carries_nul(request.form)
    # The raw body, cached: forms and JSON are parsed from the same bytes later.
    body = request.get_data(cache=True)
    return b"\x00" in body or b"\\u0000" in body or b"%00" in body


def register(app: Flask) -> None:
    app.response_class = Response

    @app.before_request
    def refuse_nul_characters():
        """No person types a NUL character and PostgreSQL text cannot hold one: a
        path or a body carrying one is refused before any service sees it (not
        found, or invalid), on every engine alike."""
        if "\x00" in request.path:
            raise NotFound("Not found.")
        # Reads answer their own way (a search for odd text finds nothing); only
        # what could be stored is refused.
        if request.method not in ("GET", "HEAD", "OPTIONS") and _body_carries_nul():
            raise Invalid("Text may not contain NUL characters.")

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.after_request
    def audit_private_views(response):
        """The access policy noted every private space it let a non-member admin
        see while serving this request; each such view goes to the audit trail."""
        noted = g.pop("private_space_views", None)
        if noted and current_user.is_authenticated and response.status_code < 400:
            admin = current_user._get_current_object()
            for (_space_id, member_id), space in noted.items():
                if member_id == admin.id:
                    events.private_space_viewed.send(space, by=admin, path=request.path)
        return response

    app.jinja_env.globals.update(
        access=access,
        site_name=app.config["SITE_NAME"],
        unread_badge=services.unread_badge,
    )

    app.add_template_filter(timeago, "timeago")
    app.add_template_filter(iso, "iso")
    app.add_template_filter(excerpt, "excerpt")
    app.add_template_filter(as_markup, "stored_html")
