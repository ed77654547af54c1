"""Domain errors raised by services, and how the site answers them.

Views turn them into form messages; for anything under /api/ the handlers below
answer the JSON error shape of DESIGN.md; HTML pages get a friendly error page.
"""

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message: str = "", fields: dict | None = None):
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.fields = fields or {}


class Invalid(DomainError):
    """The request is not valid."""

    code = "invalid"
    status = 422


class NotFound(DomainError):
    """Not found."""

    code = "not_found"
    status = 404


class NotAllowed(DomainError):
    """You are not allowed to do that."""

    code = "forbidden"
    status = 403


class Conflict(DomainError):
    """That conflicts with the current state."""

    code = "conflict"
    status = 409


class RateLimited(DomainError):
    """Too many requests; try again later."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str = "", retry_after: int = 60):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class Unauthorized(DomainError):
    """Sign in first."""

    code = "unauthorized"
    status = 401


HTTP_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid",
    409: "conflict",
    413: "invalid",
    415: "invalid",
    422: "invalid",
    429: "rate_limited",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(code: str, message: str, status: int, fields: dict | None = None):
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return jsonify(body), status


def _html_error(status: int, message: str):
    template = "errors/404.html" if status == 404 else "errors/error.html"
    return render_template(template, status=status, message=message), status


def register_error_handlers(app):
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        headers = {}
        if isinstance(error, RateLimited):
            headers["Retry-After"] = str(error.retry_after)
        if wants_json():
            body, status = json_error(error.code, error.message, error.status, error.fields)
            return body, status, headers
        body, status = _html_error(error.status, error.message)
        return body, status, headers

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = "Your form expired or came from another site. Reload the page and try again."
        if wants_json():
            return json_error("forbidden", "CSRF token missing or invalid.", 403)
        return _html_error(400, message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if status == 429:
            message = "Too many requests. Wait a moment and try again."
        else:
            message = error.description or error.name
        if wants_json():
            return json_error(HTTP_CODES.get(status, "invalid"), message, status)
        return _html_error(status, message)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("Unhandled error")
        if wants_json():
            return json_error("internal", "Something went wrong on our side.", 500)
        return _html_error(500, "Something went wrong on our side. It has been logged.")
