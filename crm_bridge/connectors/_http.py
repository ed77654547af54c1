"""HTTP plumbing the remote connectors share: one session, timeouts, Retry-After.

Connectors turn what a CRM answers into `Outcome`s; this module only sends and
reads the answer's waiting hints, so the rules of each CRM stay in its own module.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

import requests

from crm_bridge.connectors.base import Outcome

#: Seconds to wait for a CRM to accept a connection and to answer.
TIMEOUT = (5, 60)


class Unavailable(RuntimeError):
    """The CRM could not be reached or asked us to come back later (raised by `pull`)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def session(user_agent: str = "Parley-CRM-Bridge") -> requests.Session:
    http = requests.Session()
    http.headers["User-Agent"] = user_agent
    return http


def send(http: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
    """One request; a network failure becomes `Unavailable` so callers retry."""
    try:
        return http.request(method, url, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as error:
        raise Unavailable(f"{type(error).__name__}: {error}") from error


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any."""
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def json_or_none(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


def all_retry(count: int, error: str, wait: float | None = None) -> list[Outcome]:
    return [Outcome.retry(error, wait) for _ in range(count)]


def chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rounds(items: list, key) -> list[list]:
    """Split `items` into rounds in which no `key(item)` repeats, keeping order per key.

    CRMs refuse one request that names the same record twice; a later round carries
    the later change, so the last one wins as it would have one at a time.
    """
    result: list[list] = []
    depth: dict = {}
    for item in items:
        k = key(item)
        level = depth.get(k, 0)
        depth[k] = level + 1
        if level == len(result):
            result.append([])
        result[level].append(item)
    return result
