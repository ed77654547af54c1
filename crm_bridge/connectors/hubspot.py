"""HubSpot through its CRM v3 API, authenticated with a private app's token.

- contact updates: batch upsert by e-mail (at most 100 inputs a request), the
  community figures in custom contact properties;
- cases: tickets upserted by a unique-value property holding the case reference
  (a retry updates the same ticket), then associated with the contact (v4, default
  association); tickets already there are found by search first so that a
  retry never moves a ticket an agent has worked on back to the first stage;
- activities, account notes: notes; tasks and leads: tasks. Both carry the delivery
  id in a custom property and are looked up by it (search) before being created;
  what this connector created is remembered too, because HubSpot's search index
  lags a few seconds behind writes.

Settings (app config, from PARLEY_-prefixed environment variables):

- CRM_HUBSPOT_TOKEN             the private app's access token (required)
- CRM_HUBSPOT_BASE_URL          https://api.hubapi.com
- CRM_HUBSPOT_PROPERTIES        JSON object overriding DEFAULT_PROPERTIES' entries
- CRM_HUBSPOT_TICKET_PIPELINE   "0" (the default support pipeline)
- CRM_HUBSPOT_TICKET_STAGE      "1" (New) for created tickets
- CRM_HUBSPOT_PENDING_STAGES    "2" (Waiting on contact), comma-separated
- CRM_HUBSPOT_CLOSED_STAGES     "4" (Closed), comma-separated
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from crm_bridge.connectors import _http
from crm_bridge.connectors.base import (
    DELIVERY_KINDS,
    CaseStatus,
    Connector,
    ContactAttributes,
    Delivery,
    Outcome,
    Pulled,
)

#: Parley's names (keys) for HubSpot property internal names (values).
DEFAULT_PROPERTIES = {
    "reputation": "parley_reputation",
    "rank": "parley_rank",
    "social_value": "parley_social_value",
    "deflected_cases": "parley_deflected_cases",
    "engagement_level": "parley_engagement_level",
    "last_active": "parley_last_active",
    "segment": "parley_segment",
    "tier": "parley_tier",
    "customer_value": "parley_customer_value",
    "renewal_on": "parley_renewal_date",
    "account_name": "company",
    "case_reference": "parley_case_reference",  # on tickets; must have unique values
    "thread_url": "parley_thread_url",  # on tickets
    "resolution": "hs_resolution",  # on tickets
    "delivery_id": "parley_delivery_id",  # on notes and tasks
}
CONTACT_FIGURES = (
    "reputation",
    "rank",
    "social_value",
    "deflected_cases",
    "engagement_level",
    "last_active",
)
BATCH_LIMIT = 100
SEARCH_PAGE = 200
#: HubSpot-defined association type ids.
NOTE_TO_CONTACT, NOTE_TO_COMPANY, TASK_TO_CONTACT = 202, 190, 204
#: The search endpoints allow 5 requests a second per account: keep this process under it.
SEARCHES_PER_SECOND = 4
#: Seconds to wait when a 429 names its policy but no Retry-After.
POLICY_WAIT = {"TEN_SECONDLY_ROLLING": 10.0, "SECONDLY": 1.0, "DAILY": 3600.0}


_SEARCH_CLOCKS: dict[tuple[str, str], tuple[threading.Lock, deque]] = {}
_SEARCH_CLOCKS_LOCK = threading.Lock()


def _search_clock(base_url: str, token: str) -> tuple[threading.Lock, deque]:
    """The recent search times of one HubSpot account, shared by every connector of the
    process (the outbox worker may build several)."""
    with _SEARCH_CLOCKS_LOCK:
        return _SEARCH_CLOCKS.setdefault(
            (base_url, token), (threading.Lock(), deque(maxlen=SEARCHES_PER_SECOND))
        )


def _millis(value) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return str(int(value.timestamp() * 1000))
    if isinstance(value, date):
        return str(int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp() * 1000))
    raise ValueError(f"not a date and time: {value!r}")


def _text(value) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class _Refusal(Exception):
    """A request HubSpot refused as a whole; carries the outcome for its inputs."""

    def __init__(self, outcome: Outcome, status: int):
        super().__init__(outcome.error)
        self.outcome = outcome
        self.status = status


class HubSpotConnector(Connector):
    name = "hubspot"
    batch_size = BATCH_LIMIT

    def __init__(
        self,
        *,
        token: str,
        base_url: str = "https://api.hubapi.com",
        properties: Mapping[str, str] | None = None,
        ticket_pipeline: str = "0",
        ticket_stage: str = "1",
        pending_stages: Sequence[str] = ("2",),
        closed_stages: Sequence[str] = ("4",),
    ):
        self.base_url = base_url.rstrip("/")
        self.props = {**DEFAULT_PROPERTIES, **(properties or {})}
        self.ticket_pipeline = ticket_pipeline
        self.ticket_stage = ticket_stage
        self.pending_stages = set(pending_stages)
        self.closed_stages = set(closed_stages)
        self._http = _http.session()
        self._http.headers["Authorization"] = f"Bearer {token}"
        self._lock = threading.Lock()
        #: (object type, idempotency value) -> HubSpot id of what this process created
        self._created: dict[tuple[str, str], str] = {}
        self._pulled_since: str | None = None
        self._searches = _search_clock(self.base_url, token)

    @classmethod
    def from_config(cls, config: Mapping) -> HubSpotConnector:
        token = config.get("CRM_HUBSPOT_TOKEN")
        if not token:
            raise ValueError("CRM_HUBSPOT_TOKEN is not set")
        properties = config.get("CRM_HUBSPOT_PROPERTIES") or {}
        if isinstance(properties, str):
            try:
                properties = json.loads(properties)
            except ValueError as error:
                raise ValueError(f"CRM_HUBSPOT_PROPERTIES is not JSON: {error}") from error
        if not isinstance(properties, Mapping) or not all(
            isinstance(v, str) and v for v in properties.values()
        ):
            raise ValueError("CRM_HUBSPOT_PROPERTIES must map names to HubSpot property names")
        unknown = set(properties) - set(DEFAULT_PROPERTIES)
        if unknown:
            raise ValueError(f"CRM_HUBSPOT_PROPERTIES has unknown names: {sorted(unknown)}")

        def stages(name, default):
            return [s.strip() for s in str(config.get(name) or default).split(",") if s.strip()]

        return cls(
            token=token,
            base_url=config.get("CRM_HUBSPOT_BASE_URL") or "https://api.hubapi.com",
            properties=properties,
            ticket_pipeline=str(config.get("CRM_HUBSPOT_TICKET_PIPELINE") or "0"),
            ticket_stage=str(config.get("CRM_HUBSPOT_TICKET_STAGE") or "1"),
            pending_stages=stages("CRM_HUBSPOT_PENDING_STAGES", "2"),
            closed_stages=stages("CRM_HUBSPOT_CLOSED_STAGES", "4"),
        )

    def close(self) -> None:
        self._http.close()

    # -- requests ---------------------------------------------------------------

    def _refusal(self, response) -> _Refusal:
        body = _http.json_or_none(response)
        if not isinstance(body, Mapping):
            body = {}
        status = response.status_code
        message = body.get("message")
        category = body.get("category") or body.get("errorType")
        text = f"HubSpot {status} {category or ''}: {message or response.reason}".replace("  ", " ")
        if status == 429:
            wait = _http.retry_after(response.headers)
            if wait is None:
                wait = POLICY_WAIT.get(body.get("policyName"), 10.0)
            return _Refusal(Outcome.retry(text, wait), status)
        if status >= 500 or status in (401, 403):
            # Server trouble, or a token or scope an admin has to fix: not the record's fault.
            return _Refusal(Outcome.retry(text, _http.retry_after(response.headers)), status)
        return _Refusal(Outcome.rejected(text), status)

    def _pace_search(self) -> None:
        """Wait until this process has made fewer than SEARCHES_PER_SECOND searches in
        the last second (HubSpot answers 429 beyond 5 a second for the whole account)."""
        lock, recent = self._searches
        with lock:
            if len(recent) == recent.maxlen:
                wait = recent[0] + 1.0 - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            recent.append(time.monotonic())

    def _post(self, path: str, body: dict) -> dict:
        """POST; the JSON answer of a 2xx, else raises _Refusal (network: a retry)."""
        if path.endswith("/search"):
            self._pace_search()
        try:
            response = _http.send(self._http, "POST", f"{self.base_url}{path}", json=body)
        except _http.Unavailable as error:
            raise _Refusal(Outcome.retry(str(error)), 0) from error
        if response.status_code in (200, 201, 207):
            answer = _http.json_or_none(response)
            if isinstance(answer, Mapping):
                return answer
            raise _Refusal(Outcome.retry("HubSpot answered something unreadable"), 200)
        raise self._refusal(response)

    def _batch(self, path: str, inputs: list[tuple[int, dict]], key) -> dict[int, Outcome]:
        """A batch write; outcomes by delivery index, results matched by `key(result)`
        (HubSpot does not promise to answer in the order of the inputs)."""
        if not inputs:
            return {}
        try:
            answer = self._post(path, {"inputs": [i for _, i in inputs]})
        except _Refusal as refusal:
            if refusal.status in (400, 409) and len(inputs) > 1:
                # One invalid input fails the whole batch: halve it until it stands alone.
                middle = len(inputs) // 2
                return self._batch(path, inputs[:middle], key) | self._batch(
                    path, inputs[middle:], key
                )
            return {index: refusal.outcome for index, _ in inputs}
        found = {}
        for result in answer.get("results") or []:
            found[key(result)] = str(result.get("id"))
        errors = "; ".join(
            f"{e.get('category', '')}: {e.get('message', '')}" for e in answer.get("errors") or []
        )
        outcomes = {}
        for index, item in inputs:
            identity = key(item)
            if identity in found:
                outcomes[index] = Outcome.delivered(found[identity])
            else:
                outcomes[index] = Outcome.rejected(errors or "HubSpot returned no result for it")
        return outcomes

    def _search(self, object_type: str, prop: str, values: list[str], extra=()) -> dict[str, dict]:
        """Objects whose `prop` is one of `values`, by that value (raises _Refusal)."""
        found: dict[str, dict] = {}
        for chunk in _http.chunks(sorted(set(values)), BATCH_LIMIT):
            after = None
            while True:
                body = {
                    "filterGroups": [
                        {"filters": [{"propertyName": prop, "operator": "IN", "values": chunk}]}
                    ],
                    "properties": [prop, *extra],
                    "limit": SEARCH_PAGE,
                }
                if after:
                    body["after"] = after
                answer = self._post(f"/crm/v3/objects/{object_type}/search", body)
                for result in answer.get("results") or []:
                    value = (result.get("properties") or {}).get(prop)
                    if value is not None:
                        found.setdefault(value, result)
                after = ((answer.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
        return found

    # -- delivering -------------------------------------------------------------

    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        for index, d in enumerate(deliveries):
            if d.kind not in DELIVERY_KINDS:
                outcomes[index] = Outcome.rejected(f"unknown delivery kind {d.kind!r}")
            elif d.kind == "account_activity" and d.contact and d.contact.account:
                continue  # a note on the company; no contact needed
            elif not d.contact or not (d.contact.email or d.contact.external_id):
                outcomes[index] = Outcome.rejected("HubSpot needs the contact's e-mail address")
            elif d.kind == "contact" and not d.contact.email:
                outcomes[index] = Outcome.rejected("HubSpot upserts contacts by e-mail address")
        pending = [(i, d) for i, d in enumerate(deliveries) if i not in outcomes]

        contact_outcomes, contact_ids, contact_failures = self._upsert_contacts(pending)
        outcomes |= contact_outcomes
        rest = []
        for index, d in pending:
            email = (d.contact.email or "").lower() if d.contact else ""
            if d.kind == "contact":
                continue
            if email in contact_failures and not d.contact.external_id:
                outcomes[index] = contact_failures[email]
            else:
                rest.append((index, d))

        def contact_of(d: Delivery) -> str | None:
            if d.contact is None:
                return None
            return d.contact.external_id or contact_ids.get((d.contact.email or "").lower())

        cases = [(i, d) for i, d in rest if d.kind == "case"]
        notes = [(i, d) for i, d in rest if d.kind in ("activity", "account_activity")]
        tasks = [(i, d) for i, d in rest if d.kind in ("task", "lead")]
        outcomes |= self._deliver_cases(cases, contact_of)
        outcomes |= self._create_once("notes", notes, lambda d: self._note(d, contact_of(d)))
        outcomes |= self._create_once("tasks", tasks, lambda d: self._task(d, contact_of(d)))
        return [outcomes[index] for index in range(len(deliveries))]

    def _upsert_contacts(self, pending):
        """Upsert contact updates, and make sure everyone else in the batch exists as a
        contact to attach notes, tasks and tickets to. Returns the contact updates'
        outcomes by index, and HubSpot ids and failures by e-mail address."""
        items: list[tuple[int, dict]] = []
        emails = set()
        outcomes: dict[int, Outcome] = {}
        for index, d in pending:
            if d.kind == "contact":
                try:
                    items.append((index, self._contact_input(d)))
                except (TypeError, ValueError) as error:
                    outcomes[index] = Outcome.rejected(f"contact data is invalid: {error}")
                    continue
                emails.add(d.contact.email.lower())
        for _, d in pending:
            email = (d.contact.email or "").lower() if d.contact else ""
            if d.kind != "contact" and email and not d.contact.external_id and email not in emails:
                emails.add(email)
                # Negative indexes: no delivery of their own, only a contact to attach to.
                items.append((-1 - len(items), self._bare_contact(email)))
        ids: dict[str, str] = {}
        failures: dict[str, Outcome] = {}

        def key(item_or_result):
            if "idProperty" in item_or_result:
                return item_or_result["id"]
            return (item_or_result.get("properties") or {}).get("email", "").lower()

        for round_ in _http.rounds(items, key=lambda item: item[1]["id"]):
            for chunk in _http.chunks(round_, BATCH_LIMIT):
                results = self._batch("/crm/v3/objects/contacts/batch/upsert", chunk, key)
                for index, item in chunk:
                    email, outcome = item["id"], results[index]
                    if index >= 0:
                        outcomes[index] = outcome
                    if outcome.status == "delivered":
                        ids[email] = outcome.external_id
                        failures.pop(email, None)
                    else:
                        failures[email] = outcome
        return outcomes, ids, failures

    def _bare_contact(self, email: str) -> dict:
        return {"idProperty": "email", "id": email, "properties": {"email": email}}

    def _contact_input(self, d: Delivery) -> dict:
        email = d.contact.email.lower()
        properties = {"email": email}
        for name in CONTACT_FIGURES:
            value = d.data.get(name)
            if value is not None:
                text = _millis(value) if name == "last_active" else _text(value)
                properties[self.props[name]] = text
        if d.data.get("first_name"):
            properties["firstname"] = str(d.data["first_name"])
        if d.data.get("last_name"):
            properties["lastname"] = str(d.data["last_name"])
        return {"idProperty": "email", "id": email, "properties": properties}

    def _deliver_cases(self, cases, contact_of) -> dict[int, Outcome]:
        if not cases:
            return {}
        ref_prop = self.props["case_reference"]
        references = {i: str(d.data.get("reference") or d.id) for i, d in cases}
        try:
            existing = {
                value: str(result["id"])
                for value, result in self._search(
                    "tickets", ref_prop, list(references.values())
                ).items()
            }
        except _Refusal as refusal:
            return {i: refusal.outcome for i, _ in cases}
        outcomes: dict[int, Outcome] = {}
        to_upsert = []
        for index, d in cases:
            reference = references[index]
            if reference in existing:
                outcomes[index] = Outcome.delivered(existing[reference])
            else:
                try:
                    to_upsert.append((index, self._ticket(d, reference)))
                except (KeyError, TypeError, ValueError) as error:
                    outcomes[index] = Outcome.rejected(f"case data is incomplete: {error}")
        for round_ in _http.rounds(to_upsert, key=lambda item: item[1]["id"]):
            for chunk in _http.chunks(round_, BATCH_LIMIT):
                outcomes |= self._batch(
                    "/crm/v3/objects/tickets/batch/upsert",
                    chunk,
                    key=lambda r: (
                        r.get("id")
                        if "idProperty" in r
                        else (r.get("properties") or {}).get(ref_prop)
                    ),
                )
        # Associate every delivered ticket with its contact (idempotent at HubSpot).
        links = [
            (index, {"from": {"id": outcomes[index].external_id}, "to": {"id": contact_of(d)}})
            for index, d in cases
            if outcomes[index].status == "delivered" and contact_of(d)
        ]
        for chunk in _http.chunks(links, BATCH_LIMIT):
            try:
                self._post(
                    "/crm/v4/associations/tickets/contacts/batch/associate/default",
                    {"inputs": [link for _, link in chunk]},
                )
            except _Refusal as refusal:
                for index, _ in chunk:
                    # The ticket exists; the retry finds it and links it again.
                    outcomes[index] = (
                        refusal.outcome
                        if refusal.outcome.status == "retry"
                        else Outcome.retry(refusal.outcome.error)
                    )
        return outcomes

    def _ticket(self, d: Delivery, reference: str) -> dict:
        content = str(d.data.get("description") or "")
        if d.data.get("thread_url"):
            content = f"{content}\n\nCommunity thread: {d.data['thread_url']}".strip()
        properties = {
            self.props["case_reference"]: reference,
            "subject": str(d.data["subject"]),
            "content": content,
            "hs_pipeline": self.ticket_pipeline,
            "hs_pipeline_stage": self.ticket_stage,
        }
        if d.data.get("thread_url"):
            properties[self.props["thread_url"]] = str(d.data["thread_url"])
        return {
            "idProperty": self.props["case_reference"],
            "id": reference,
            "properties": properties,
        }

    def _create_once(self, object_type: str, items, build) -> dict[int, Outcome]:
        """Create notes or tasks unless one with the delivery id exists already."""
        if not items:
            return {}
        prop = self.props["delivery_id"]
        outcomes: dict[int, Outcome] = {}
        unknown = []
        for index, d in items:
            with self._lock:
                known = self._created.get((object_type, d.id))
            if known:
                outcomes[index] = Outcome.delivered(known)
            else:
                unknown.append((index, d))
        try:
            existing = (
                self._search(object_type, prop, [d.id for _, d in unknown]) if unknown else {}
            )
        except _Refusal as refusal:
            return outcomes | {i: refusal.outcome for i, _ in unknown}
        to_create = []
        for index, d in unknown:
            if d.id in existing:
                outcomes[index] = Outcome.delivered(str(existing[d.id]["id"]))
                continue
            try:
                to_create.append((index, build(d)))
            except (KeyError, TypeError, ValueError) as error:
                outcomes[index] = Outcome.rejected(f"{d.kind} data is incomplete: {error}")
        for round_ in _http.rounds(to_create, key=lambda item: item[1]["properties"][prop]):
            for chunk in _http.chunks(round_, BATCH_LIMIT):
                results = self._batch(
                    f"/crm/v3/objects/{object_type}/batch/create",
                    chunk,
                    key=lambda r: (r.get("properties") or {}).get(prop),
                )
                outcomes |= results
                with self._lock:
                    for index, item in chunk:
                        if results[index].status == "delivered":
                            key = (object_type, item["properties"][prop])
                            self._created[key] = results[index].external_id
        return outcomes

    def _note(self, d: Delivery, contact_id: str | None) -> dict:
        data = d.data
        if d.kind == "activity":
            heading = str(data["type"]).replace("_", " ").capitalize()
            title, at = data.get("title", ""), data.get("at") or d.occurred_at
        else:
            heading = f"Idea you asked for is now {data['status']}"
            title, at = data["idea_title"], d.occurred_at
        text = f"<p><strong>{html.escape(heading)}</strong>: {html.escape(str(title))}</p>"
        if d.kind == "account_activity" and data.get("note"):
            text += f"<p>{html.escape(str(data['note']))}</p>"
        if data.get("url"):
            url = html.escape(str(data["url"]))
            text += f'<p><a href="{url}">{url}</a></p>'
        company = d.contact.account if d.kind == "account_activity" and d.contact else None
        if company and str(company).isdigit():
            to, type_id = company, NOTE_TO_COMPANY
        else:
            to, type_id = contact_id, NOTE_TO_CONTACT
        return self._engagement(d, {"hs_timestamp": _millis(at), "hs_note_body": text}, to, type_id)

    def _task(self, d: Delivery, contact_id: str | None) -> dict:
        data = d.data
        subject = str(data["subject"])
        body = "\n".join(filter(None, [data.get("description"), data.get("url")]))
        properties = {
            "hs_timestamp": _millis(data.get("due_at") or d.occurred_at),
            "hs_task_subject": f"Lead: {subject}" if d.kind == "lead" else subject,
            "hs_task_body": body,
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": "HIGH" if d.kind == "lead" else "MEDIUM",
            "hs_task_type": "TODO",
        }
        return self._engagement(d, properties, contact_id, TASK_TO_CONTACT)

    def _engagement(self, d: Delivery, properties: dict, to: str | None, type_id: int) -> dict:
        item = {"properties": {**properties, self.props["delivery_id"]: d.id}}
        if to:
            item["associations"] = [
                {
                    "to": {"id": str(to)},
                    "types": [
                        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}
                    ],
                }
            ]
        return item

    # -- pulling ----------------------------------------------------------------

    def pull(self, case_references: Sequence[str] = ()) -> Pulled:
        """Contacts changed since the last pull (all with an e-mail the first time) and
        the given cases' tickets. Raises `_http.Unavailable` when HubSpot refuses now."""
        try:
            return Pulled(contacts=self._pull_contacts(), cases=self._pull_cases(case_references))
        except _Refusal as refusal:
            raise _http.Unavailable(refusal.outcome.error, refusal.outcome.retry_after) from refusal

    def _pull_cases(self, references: Sequence[str]) -> list[CaseStatus]:
        if not references:
            return []
        ref_prop, resolution = self.props["case_reference"], self.props["resolution"]
        found = self._search(
            "tickets", ref_prop, list(references), extra=("hs_pipeline_stage", resolution)
        )
        cases = []
        for reference in dict.fromkeys(references):
            if reference not in found:
                continue
            properties = found[reference].get("properties") or {}
            stage = str(properties.get("hs_pipeline_stage") or "")
            status = (
                "closed"
                if stage in self.closed_stages
                else "pending"
                if stage in self.pending_stages
                else "open"
            )
            cases.append(CaseStatus(reference, status, properties.get(resolution) or None))
        return cases

    def _pull_contacts(self) -> list[ContactAttributes]:
        p = self.props
        wanted = [
            "email",
            p["segment"],
            p["tier"],
            p["customer_value"],
            p["account_name"],
            p["renewal_on"],
            "lastmodifieddate",
        ]
        if self._pulled_since:
            filters = [
                {"propertyName": "lastmodifieddate", "operator": "GTE", "value": self._pulled_since}
            ]
        else:
            filters = [{"propertyName": "email", "operator": "HAS_PROPERTY"}]
        contacts, after = [], None
        while True:
            body = {
                "filterGroups": [{"filters": filters}],
                "properties": list(dict.fromkeys(wanted)),
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                "limit": SEARCH_PAGE,
            }
            if after:
                body["after"] = after
            answer = self._post("/crm/v3/objects/contacts/search", body)
            for result in answer.get("results") or []:
                contacts.append(self._attributes(result))
                stamp = (result.get("properties") or {}).get("lastmodifieddate")
                if stamp:
                    millis = _millis(stamp.replace("Z", "+00:00"))
                    if self._pulled_since is None or int(millis) > int(self._pulled_since):
                        self._pulled_since = millis
            after = ((answer.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return contacts

    def _attributes(self, result: Mapping) -> ContactAttributes:
        p, properties = self.props, result.get("properties") or {}
        value = properties.get(p["customer_value"])
        try:
            customer_value = Decimal(value) if value not in (None, "") else None
        except InvalidOperation:
            customer_value = None
        renewal = properties.get(p["renewal_on"])
        return ContactAttributes(
            email=properties.get("email"),
            external_id=str(result.get("id")),
            segment=properties.get(p["segment"]) or None,
            tier=properties.get(p["tier"]) or None,
            customer_value=customer_value,
            account_name=properties.get(p["account_name"]) or None,
            renewal_on=date.fromisoformat(renewal[:10]) if renewal else None,
        )
