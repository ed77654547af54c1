"""BottleCRM (the self-hosted CRM published on PyPI as `django-crm`), over its REST API.

Written against django-crm 1.35.0's own source (contacts, accounts, cases, leads, tasks,
custom fields, personal access tokens) and tested end to end against a real server
(tests/crm_bridge/bottlecrm, `make test-crm`). Operators: docs/crm.md, "BottleCRM".

What BottleCRM does not do, and what this connector does about it:

- No upsert anywhere. Every write looks up first, then creates, keyed by a custom
  field Parley owns (`parley_member_id` on contacts, `parley_case_reference` on
  tickets, `parley_delivery_id` on leads and tasks) or, for timeline notes, by a
  marker in the comment text; a retried delivery finds what the first try made.
- `?email=` on contacts matches substrings (`icontains`): a lookup for a@x.com also
  returns aa@x.com. Only an exact (case-insensitive) address counts.
- Custom-field filters (`?cf_key=value`) are JSON containment, which works on
  PostgreSQL only; the test server runs on PostgreSQL and so must a production one.
- Custom-field values whose definition is missing or inactive are dropped silently,
  so the definitions are checked (and created or re-activated) before the first write.
- Outbound webhooks refuse loopback and private addresses, so case status comes back
  by polling (`pull`), not by push.
- A bad, revoked or expired token answers 403 ("Organization context is required"),
  not 401. That is a configuration error, not the delivery's fault: every delivery
  of the batch is retried with an error saying so, none is dead-lettered.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from crm_bridge.connectors.base import (
    CaseStatus,
    Connector,
    ContactAttributes,
    ContactRef,
    Delivery,
    Outcome,
    Pulled,
)

# Custom fields the connector relies on, per BottleCRM target model: key -> (label, type).
CUSTOM_FIELDS = {
    "Contact": {
        "parley_member_id": ("Parley member id", "text"),
        "parley_reputation": ("Parley reputation", "number"),
        "parley_rank": ("Parley rank", "text"),
        "parley_social_value": ("Parley social value", "number"),
        "parley_deflected_cases": ("Parley deflected cases", "number"),
        "parley_engagement_level": ("Parley engagement level", "text"),
        "parley_last_active": ("Parley last active", "date"),
        # Owned by the CRM's users; pulled back into Parley.
        "customer_segment": ("Customer segment", "text"),
        "customer_tier": ("Customer tier", "text"),
        "customer_value": ("Customer value", "number"),
        "renewal_on": ("Renewal date", "date"),
    },
    "Case": {
        "parley_case_reference": ("Parley case reference", "text"),
        "parley_thread_url": ("Parley thread", "text"),
        "parley_resolution": ("Resolution for the community", "textarea"),
    },
    "Lead": {"parley_delivery_id": ("Parley delivery id", "text")},
    "Task": {"parley_delivery_id": ("Parley delivery id", "text")},
}

# Delivery data key -> contact custom field (the community figures).
CONTACT_FIGURES = {
    "reputation": "parley_reputation",
    "rank": "parley_rank",
    "social_value": "parley_social_value",
    "deflected_cases": "parley_deflected_cases",
    "engagement_level": "parley_engagement_level",
    "last_active": "parley_last_active",
}

# BottleCRM ticket statuses -> the bridge's three.
CASE_STATUSES = {
    "New": "open",
    "Assigned": "open",
    "Pending": "pending",
    "Closed": "closed",
    "Rejected": "closed",
    "Duplicate": "closed",
}

CASE_NAME_MAX = 64  # Case.name is a CharField(max_length=64), and unique per org.
PAGE = 100
MAX_PAGES = 50  # a lookup that pages past 5,000 rows is a misconfigured filter
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class BottleCRMError(Exception):
    """A failure to report on one delivery (or a whole pull)."""

    def __init__(self, message: str, *, retry: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after


class BatchStop(BottleCRMError):
    """A failure every later delivery of the batch would hit too (bad token, server down)."""


class BottleCRMConnector(Connector):
    name = "bottlecrm"
    batch_size = 50

    def __init__(self, url: str, token: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._fields_ready: set[str] = set()

    @classmethod
    def from_config(cls, config: Mapping) -> BottleCRMConnector:
        url = (config.get("CRM_BOTTLECRM_URL") or "").strip()
        token = (config.get("CRM_BOTTLECRM_TOKEN") or "").strip()
        if not url:
            raise ValueError("CRM_BOTTLECRM_URL is not set (the BottleCRM server's base URL)")
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"CRM_BOTTLECRM_URL must be an http(s) URL, not {url!r}")
        if not token:
            raise ValueError(
                "CRM_BOTTLECRM_TOKEN is not set (a BottleCRM personal access token, bcrm_pat_...)"
            )
        try:
            timeout = float(config.get("CRM_BOTTLECRM_TIMEOUT") or 10)
        except (TypeError, ValueError):
            timeout = 0
        if not timeout > 0:
            raise ValueError("CRM_BOTTLECRM_TIMEOUT must be a positive number of seconds")
        return cls(url, token, timeout)

    # --- delivering ------------------------------------------------------------------

    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        stop: BatchStop | None = None
        for delivery in deliveries:
            if stop is not None:
                outcomes.append(Outcome.retry(str(stop), stop.retry_after))
                continue
            try:
                outcomes.append(Outcome.delivered(self._deliver_one(delivery)))
            except BatchStop as error:
                stop = error
                outcomes.append(Outcome.retry(str(error), error.retry_after))
            except BottleCRMError as error:
                if error.retry:
                    outcomes.append(Outcome.retry(str(error), error.retry_after))
                else:
                    outcomes.append(Outcome.rejected(str(error)))
        return outcomes

    def _deliver_one(self, delivery: Delivery) -> str:
        handler = {
            "contact": self._deliver_contact,
            "activity": self._deliver_activity,
            "case": self._deliver_case,
            "lead": self._deliver_lead,
            "task": self._deliver_task,
            "account_activity": self._deliver_account_activity,
        }.get(delivery.kind)
        if handler is None:
            raise BottleCRMError(f"unknown delivery kind {delivery.kind!r}", retry=False)
        return handler(delivery)

    def _deliver_contact(self, delivery: Delivery) -> str:
        fields = {}
        for key, field_key in CONTACT_FIGURES.items():
            if key in delivery.data:
                fields[field_key] = _field_value(delivery.data[key])
        return self._contact_for(delivery, update=fields)["id"]

    def _deliver_activity(self, delivery: Delivery) -> str:
        contact = self._contact_for(delivery)
        data = delivery.data
        text = " ".join(
            part
            for part in (
                f"Community: {data.get('type', 'activity')}.",
                str(data.get("title") or ""),
                str(data.get("url") or ""),
                f"({data['at']})" if data.get("at") else "",
            )
            if part
        )
        return self._comment_once(f"/api/contacts/{contact['id']}/", delivery.id, text)

    def _deliver_account_activity(self, delivery: Delivery) -> str:
        if delivery.contact is None or not delivery.contact.account:
            raise BottleCRMError("account_activity without an account", retry=False)
        account_id = self._account_id(delivery.contact.account)
        data = delivery.data
        text = " ".join(
            part
            for part in (
                f"Idea {data.get('idea_title', '')!s} is now {data.get('status', '')!s}.",
                str(data.get("note") or ""),
                str(data.get("url") or ""),
            )
            if part
        )
        return self._comment_once(f"/api/accounts/{account_id}/", delivery.id, text)

    def _deliver_case(self, delivery: Delivery) -> str:
        self._ensure_fields("Case")
        data = delivery.data
        reference = str(data.get("reference") or "").strip()
        if not reference:
            raise BottleCRMError("case without a reference", retry=False)
        found = self._find_case(reference)
        if found is not None:
            return found["id"]
        contact = self._contact_for(delivery) if _has_identity(delivery.contact) else None
        # Ticket names are unique per org: the reference keeps two escalations with the
        # same subject apart.
        suffix = f" [{reference}]"
        subject = str(data.get("subject") or "Escalated from the community").strip()
        name = subject[: CASE_NAME_MAX - len(suffix)].rstrip() + suffix
        description = str(data.get("description") or "")
        if data.get("thread_url"):
            description = f"{description}\n\nCommunity thread: {data['thread_url']}".strip()
        body = {
            "name": name[-CASE_NAME_MAX:],
            "status": "New",
            "priority": "Normal",
            "case_type": "Question",
            "description": description,
            "custom_fields": {
                "parley_case_reference": reference,
                "parley_thread_url": str(data.get("thread_url") or ""),
            },
        }
        if contact is not None:
            body["contacts"] = [contact["id"]]
            if contact.get("account"):
                body["account"] = str(contact["account"])
        try:
            return self._call("POST", "/api/cases/", body)["id"]
        except BottleCRMError:
            # Created meanwhile by a concurrent try (the name clash is a 400): that is it.
            found = self._find_case(reference)
            if found is not None:
                return found["id"]
            raise

    def _deliver_lead(self, delivery: Delivery) -> str:
        self._ensure_fields("Lead")
        found = self._find_by_delivery("/api/leads/", delivery.id, _lead_rows)
        if found is not None:
            return found["id"]
        data = delivery.data
        body = {
            "title": str(data.get("subject") or "Lead from the community")[:255],
            "description": _text_with_url(data),
            "status": "assigned",
            "custom_fields": {"parley_delivery_id": delivery.id},
        }
        if _has_identity(delivery.contact):
            body["contacts"] = [self._contact_for(delivery)["id"]]
        created = self._call("POST", "/api/leads/", body)
        if created.get("id"):
            return str(created["id"])
        found = self._find_by_delivery("/api/leads/", delivery.id, _lead_rows)
        if found is None:
            raise BottleCRMError("BottleCRM accepted the lead but cannot find it", retry=True)
        return found["id"]

    def _deliver_task(self, delivery: Delivery) -> str:
        self._ensure_fields("Task")
        found = self._find_by_delivery("/api/tasks/", delivery.id, _task_rows)
        if found is not None:
            return found["id"]
        data = delivery.data
        body = {
            "title": str(data.get("subject") or "Follow-up from the community")[:200],
            "description": _text_with_url(data),
            "status": "New",
            "priority": "Medium",
            "custom_fields": {"parley_delivery_id": delivery.id},
        }
        if _has_identity(delivery.contact):
            body["contacts"] = [self._contact_for(delivery)["id"]]
        # The task create answers without the new task's id: find it by its key.
        self._call("POST", "/api/tasks/", body)
        found = self._find_by_delivery("/api/tasks/", delivery.id, _task_rows)
        if found is None:
            raise BottleCRMError("BottleCRM accepted the task but cannot find it", retry=True)
        return found["id"]

    # --- contacts and accounts ------------------------------------------------------

    def _contact_for(self, delivery: Delivery, update: Mapping | None = None) -> dict:
        """The CRM contact a delivery is about: found (by id, Parley member id or exact
        e-mail) or created, and updated with `update` (custom fields) and its account."""
        ref = delivery.contact
        if not _has_identity(ref):
            raise BottleCRMError(f"{delivery.kind} delivery without a contact", retry=False)
        self._ensure_fields("Contact")
        member_id = str(ref.member_id) if ref.member_id is not None else None
        contact = self._find_contact(ref)
        fields = dict(update or {})
        if member_id is not None:
            fields["parley_member_id"] = member_id
        account_id = self._account_id(ref.account) if ref.account else None

        if contact is None:
            if not ref.email:
                raise BottleCRMError(
                    f"contact for member {member_id} not in BottleCRM and no e-mail to create it",
                    retry=False,
                )
            first, last = _names(delivery.data, ref.email)
            body = {
                "first_name": first,
                "last_name": last,
                "email": ref.email,
                "source": "",
                "description": "Created by Parley's CRM bridge.",
                "custom_fields": fields,
            }
            if account_id:
                body["account"] = account_id
            try:
                created = self._call("POST", "/api/contacts/", body)
            except BottleCRMError:
                # "Contact already exists with this email": made meanwhile; update it.
                contact = self._find_contact(ref)
                if contact is None:
                    raise
            else:
                return self._get_contact(created["id"])

        owner = (contact.get("custom_fields") or {}).get("parley_member_id")
        if member_id is not None and owner not in (None, "", member_id):
            raise BottleCRMError(
                f"BottleCRM contact {contact['id']} ({contact.get('email')}) is already linked "
                f"to Parley member {owner}, not {member_id}: link it by hand",
                retry=False,
            )
        changes: dict = {}
        stored = contact.get("custom_fields") or {}
        if any(stored.get(key) != value for key, value in fields.items()):
            changes["custom_fields"] = {**stored, **fields}
        if account_id and str(contact.get("account") or "") != account_id:
            changes["account"] = account_id
        if changes:
            self._call("PATCH", f"/api/contacts/{contact['id']}/", changes)
            contact = {**contact, **changes}
        return contact

    def _find_contact(self, ref: ContactRef) -> dict | None:
        if ref.external_id:
            found = self._get_contact(ref.external_id, missing_ok=True)
            if found is not None:
                return found
        if ref.member_id is not None:
            rows = self._rows("/api/contacts/", {"cf_parley_member_id": str(ref.member_id)})
            exact = [
                row
                for row in rows
                if str((row.get("custom_fields") or {}).get("parley_member_id"))
                == str(ref.member_id)
            ]
            if exact:
                return exact[0]
        if ref.email:
            # `?email=` is a substring match: keep only the exact address.
            wanted = ref.email.strip().lower()
            for row in self._rows("/api/contacts/", {"email": ref.email.strip()}):
                if (row.get("email") or "").strip().lower() == wanted:
                    return row
        return None

    def _get_contact(self, contact_id: str, missing_ok: bool = False) -> dict | None:
        if not UUID_RE.match(str(contact_id)):
            return None
        try:
            return self._call("GET", f"/api/contacts/{contact_id}/")["contact_obj"]
        except BottleCRMError as error:
            if missing_ok and "HTTP 404" in str(error):
                return None
            raise

    def _account_id(self, account: str) -> str:
        """The account's id, by its id or its (unique, case-insensitive) name; created
        when missing."""
        account = str(account).strip()
        if UUID_RE.match(account):
            return account
        wanted = account.lower()

        def find():
            for row in self._rows("/api/accounts/", {"name": account}, _account_rows):
                if (row.get("name") or "").strip().lower() == wanted:
                    return str(row["id"])
            return None

        found = find()
        if found:
            return found
        try:
            return str(self._call("POST", "/api/accounts/", {"name": account})["id"])
        except BottleCRMError:
            found = find()  # "Account already exists with this name": made meanwhile
            if found:
                return found
            raise

    # --- cases, leads, tasks ----------------------------------------------------------

    def _find_case(self, reference: str) -> dict | None:
        rows = self._rows(
            "/api/cases/",
            # A merged or deleted ticket still answers for its reference: creating a
            # second one would be the duplicate this lookup is here to prevent.
            {
                "cf_parley_case_reference": reference,
                "show_merged": "true",
                "include_deleted": "true",
            },
            lambda page: page.get("cases") or [],
        )
        for row in rows:
            if (row.get("custom_fields") or {}).get("parley_case_reference") == reference:
                return row
        return None

    def _find_by_delivery(self, path: str, delivery_id: str, rows_of) -> dict | None:
        for row in self._rows(path, {"cf_parley_delivery_id": delivery_id}, rows_of):
            # The task list leaves custom fields out; its filter (JSON containment on
            # PostgreSQL) is exact for a string value, so a row it returns matches.
            if "custom_fields" not in row:
                return row
            if row["custom_fields"].get("parley_delivery_id") == delivery_id:
                return row
        return None

    def _comment_once(self, record_path: str, delivery_id: str, text: str) -> str:
        """A comment on a contact or account, at most once per delivery: the delivery
        id is in the text, and a retry finds it there."""
        marker = f"[parley:{delivery_id}]"
        for comment in self._call("GET", record_path).get("comments") or []:
            if marker in (comment.get("comment") or ""):
                return str(comment["id"])
        answer = self._call("POST", record_path, {"comment": f"{text}\n{marker}"})
        for comment in answer.get("comments") or []:
            if marker in (comment.get("comment") or ""):
                return str(comment["id"])
        raise BottleCRMError("BottleCRM accepted the comment but does not show it", retry=True)

    # --- custom fields ----------------------------------------------------------------

    def _ensure_fields(self, target: str) -> None:
        """Creates (or re-activates) the custom fields this connector writes: BottleCRM
        drops values of unknown or inactive fields without a word."""
        if target in self._fields_ready:
            return
        answer = self._call(
            "GET",
            "/api/custom-fields/",
            params={"target_model": target, "include_counts": "false"},
        )
        existing = {row["key"]: row for row in answer.get("definitions") or []}
        for order, (key, (label, field_type)) in enumerate(CUSTOM_FIELDS[target].items()):
            row = existing.get(key)
            if row is None:
                self._call(
                    "POST",
                    "/api/custom-fields/",
                    {
                        "target_model": target,
                        "key": key,
                        "label": label,
                        "field_type": field_type,
                        "is_filterable": True,
                        "display_order": 100 + order,
                    },
                )
            elif row.get("field_type") != field_type:
                raise BatchStop(
                    f"BottleCRM custom field {target}.{key} is a {row.get('field_type')}, "
                    f"Parley needs a {field_type}: delete it in BottleCRM so Parley recreates it",
                    retry=True,
                )
            elif not row.get("is_active", True):
                self._call("PUT", f"/api/custom-fields/{row['id']}/", {"is_active": True})
        self._fields_ready.add(target)

    # --- pulling ----------------------------------------------------------------------

    def pull(self, case_references: Sequence[str] = ()) -> Pulled:
        """Every contact linked to a Parley member with its customer attributes, and
        the status of the given cases (BottleCRM's webhooks cannot reach a loopback or
        private address, so the bridge polls). Raises BottleCRMError on failure."""
        cases = []
        for reference in case_references:
            row = self._find_case(reference)
            if row is None:
                continue
            resolution = (row.get("custom_fields") or {}).get("parley_resolution") or None
            cases.append(
                CaseStatus(
                    reference=reference,
                    status=CASE_STATUSES.get(row.get("status"), "open"),
                    resolution=resolution,
                )
            )
        contacts = []
        for row in self._rows("/api/contacts/", {}):
            fields = row.get("custom_fields") or {}
            if not fields.get("parley_member_id"):
                continue
            account = row.get("account_detail") or {}
            contacts.append(
                ContactAttributes(
                    email=row.get("email"),
                    external_id=str(row["id"]),
                    segment=fields.get("customer_segment"),
                    tier=fields.get("customer_tier"),
                    customer_value=_decimal(fields.get("customer_value")),
                    account_name=account.get("name"),
                    renewal_on=_date(fields.get("renewal_on")),
                    fields={k: v for k, v in fields.items() if not k.startswith("parley_")},
                )
            )
        return Pulled(contacts=contacts, cases=cases)

    # --- HTTP -------------------------------------------------------------------------

    def _rows(self, path: str, params: Mapping, rows_of=None) -> list[dict]:
        """Every row of a list endpoint, page by page (limit/offset)."""
        rows_of = rows_of or (lambda page: page.get("results") or [])
        rows: list[dict] = []
        for number in range(MAX_PAGES):
            page = self._call(
                "GET", path, params={**params, "limit": PAGE, "offset": number * PAGE}
            )
            batch = rows_of(page)
            rows.extend(batch)
            if len(batch) < PAGE:
                return rows
        raise BottleCRMError(f"{path} with {dict(params)} lists too many rows", retry=False)

    def _call(self, method: str, path: str, body=None, params=None) -> dict:
        url = self.url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http(s) only, see from_config
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) checked in from_config
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise _http_error(method, path, error) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise BatchStop(f"BottleCRM unreachable at {self.url}: {reason}", retry=True) from None
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise BottleCRMError(
                f"BottleCRM answered {method} {path} with something not JSON", retry=True
            ) from None


def _http_error(method: str, path: str, error: urllib.error.HTTPError) -> BottleCRMError:
    try:
        detail = error.read().decode("utf-8", "replace")[:500]
    except OSError:
        detail = ""
    try:
        parsed = json.loads(detail)
        detail = json.dumps(parsed.get("errors") or parsed.get("detail") or parsed)[:500]
    except (ValueError, AttributeError):
        pass
    where = f"{method} {path}: HTTP {error.code}"
    if error.code in (401, 403):
        # A bad, revoked or expired token is a 403 here ("Organization context is
        # required"); so is a token whose profile is no admin. Fix the configuration;
        # the deliveries themselves are fine.
        return BatchStop(
            f"BottleCRM refused the credentials ({where} {detail}). Configuration error: "
            "check CRM_BOTTLECRM_TOKEN is a valid, unrevoked personal access token of an "
            "active admin profile",
            retry=True,
        )
    if error.code == 429 or error.code >= 500:
        retry_after = _seconds(error.headers.get("Retry-After")) if error.headers else None
        stop = error.code in (429, 502, 503, 504)
        kind = BatchStop if stop else BottleCRMError
        return kind(
            f"BottleCRM is unavailable ({where} {detail})", retry=True, retry_after=retry_after
        )
    if error.code == 404:
        return BottleCRMError(f"BottleCRM has no such record ({where})", retry=False)
    return BottleCRMError(f"BottleCRM rejected it ({where} {detail})", retry=False)


def _has_identity(ref: ContactRef | None) -> bool:
    return ref is not None and bool(ref.external_id or ref.member_id is not None or ref.email)


def _names(data: Mapping, email: str) -> tuple[str, str]:
    name = str(data.get("name") or "").strip()
    if name:
        first, _, last = name.partition(" ")
        return first[:255], (last or "(community)")[:255]
    return email.split("@", 1)[0][:255], "(community)"


def _text_with_url(data: Mapping) -> str:
    text = str(data.get("description") or "")
    if data.get("url"):
        text = f"{text}\n\n{data['url']}".strip()
    return text


def _field_value(value):
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)  # BottleCRM stores number fields as floats
    return str(value)


def _decimal(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _seconds(value) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _lead_rows(page: Mapping) -> list[dict]:
    return list((page.get("open_leads") or {}).get("open_leads") or []) + list(
        (page.get("close_leads") or {}).get("close_leads") or []
    )


def _task_rows(page: Mapping) -> list[dict]:
    return list(page.get("tasks") or [])


def _account_rows(page: Mapping) -> list[dict]:
    return list((page.get("active_accounts") or {}).get("open_accounts") or []) + list(
        (page.get("closed_accounts") or {}).get("close_accounts") or []
    )
