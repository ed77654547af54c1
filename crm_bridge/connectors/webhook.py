"""The signed webhook connector: one JSON event per POST to the configured URL.

Each request carries `X-Parley-Timestamp` (Unix seconds) and
`X-Parley-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the shared
secret, and the event id as `Idempotency-Key`. How receivers verify: docs/crm.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import requests

from .base import Connector, Delivery, Outcome

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of X-Parley-Signature for this timestamp and body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def event_body(delivery: Delivery) -> dict:
    contact = delivery.contact
    return {
        "id": delivery.id,
        "type": delivery.kind,
        "occurred_at": delivery.occurred_at.isoformat(timespec="seconds") + "Z",
        "member": {
            "id": contact.member_id if contact else None,
            "email": contact.email if contact else None,
        },
        "account": contact.account if contact else None,
        "attempt": delivery.attempt,
        "data": dict(delivery.data),
    }


def _retry_after(response) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None


class WebhookConnector(Connector):
    name = "webhook"
    batch_size = 50

    def __init__(self, url: str, secret: str, timeout: float = 10.0):
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.session = requests.Session()

    @classmethod
    def from_config(cls, config: Mapping) -> WebhookConnector:
        url = config.get("CRM_WEBHOOK_URL")
        secret = config.get("CRM_WEBHOOK_SECRET")
        if not url or urlsplit(str(url)).scheme not in ("http", "https"):
            raise ValueError("Set PARLEY_CRM_WEBHOOK_URL to the receiver's http(s) URL.")
        if not secret:
            raise ValueError("Set PARLEY_CRM_WEBHOOK_SECRET, the shared signing secret.")
        return cls(str(url), str(secret), float(config.get("CRM_WEBHOOK_TIMEOUT") or 10.0))

    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        return [self._post(delivery) for delivery in deliveries]

    def _post(self, delivery: Delivery) -> Outcome:
        body = json.dumps(event_body(delivery), separators=(",", ":"), sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Parley-CRM-Bridge/1",
            "Idempotency-Key": delivery.id,
            "X-Parley-Timestamp": timestamp,
            "X-Parley-Signature": signature(self.secret, timestamp, body),
        }
        try:
            response = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as error:
            return Outcome.retry(f"network: {type(error).__name__}")
        status = response.status_code
        if 200 <= status < 300 or status == 409:  # 409: the receiver already has it
            external_id = None
            try:
                answer = response.json()
                if isinstance(answer, dict) and answer.get("id") is not None:
                    external_id = str(answer["id"])[:200]
            except ValueError:
                pass
            return Outcome.delivered(external_id)
        detail = f"HTTP {status}: {response.text[:200]}".strip()
        if status in RETRY_STATUSES or status >= 500:
            return Outcome.retry(detail, retry_after=_retry_after(response))
        return Outcome.rejected(detail)

    def close(self) -> None:
        self.session.close()
