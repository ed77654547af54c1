"""Salesforce through its REST API.

Every write is an sObject Collections upsert (PATCH .../composite/sobjects/<Object>/
<ExternalIdField>, allOrNone false, at most 200 records) keyed by something Parley
owns: the member id on the Contact, the case reference on the Case and the
delivery id on Tasks, Leads and activity records. A retried delivery therefore
updates the record it created the first time instead of adding a second one.
Contacts already linked to a Salesforce Id are updated by that Id.

Settings (app config, from PARLEY_-prefixed environment variables):

- CRM_SALESFORCE_INSTANCE_URL   https://yourdomain.my.salesforce.com (required)
- CRM_SALESFORCE_CLIENT_ID      the connected app's consumer key (required)
- CRM_SALESFORCE_CLIENT_SECRET  for the client credentials flow, or
- CRM_SALESFORCE_PRIVATE_KEY + CRM_SALESFORCE_USERNAME  for the JWT bearer flow
  (PEM text or a path to the PEM file; the certificate is uploaded to the app)
- CRM_SALESFORCE_AUDIENCE       JWT audience (https://login.salesforce.com; a sandbox
  uses https://test.salesforce.com)
- CRM_SALESFORCE_TOKEN_URL      defaults to <instance>/services/oauth2/token
- CRM_SALESFORCE_API_VERSION    62.0 (46.0 at least: collections upsert)
- CRM_SALESFORCE_EXTERNAL_ID_FIELD  Contact field holding the Parley member id
- CRM_SALESFORCE_ACTIVITY_OBJECT    Task (default) or a custom object such as
  Parley_Activity__c for the community timeline
- CRM_SALESFORCE_FIELD_MAP      JSON object overriding DEFAULT_FIELD_MAP's entries
- CRM_SALESFORCE_LIMIT_BACKOFF  seconds to wait after REQUEST_LIMIT_EXCEEDED (300)
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

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

#: Parley's names (keys) for the Salesforce fields (values) the connector reads and writes.
DEFAULT_FIELD_MAP = {
    # community figures on the Contact
    "reputation": "Parley_Reputation__c",
    "rank": "Parley_Rank__c",
    "social_value": "Parley_Social_Value__c",
    "deflected_cases": "Parley_Deflected_Cases__c",
    "engagement_level": "Parley_Engagement_Level__c",
    "last_active": "Parley_Last_Active__c",
    # customer facts pulled back from the Contact (dotted names follow a relationship)
    "segment": "Parley_Segment__c",
    "tier": "Parley_Tier__c",
    "customer_value": "Parley_Customer_Value__c",
    "renewal_on": "Parley_Renewal_Date__c",
    "account_name": "Account.Name",
    # cases
    "case_reference": "Parley_Case_Reference__c",
    "thread_url": "Parley_Thread_URL__c",
    "resolution": "Parley_Resolution__c",
    # the external id (on Task, Lead and the activity object) holding Delivery.id
    "delivery_id": "Parley_Delivery_Id__c",
    # fields of a custom activity object (when CRM_SALESFORCE_ACTIVITY_OBJECT is not Task)
    "activity_type": "Parley_Type__c",
    "activity_url": "Parley_URL__c",
    "activity_contact": "Parley_Contact__c",
    "activity_at": "Parley_Occurred_At__c",
}
CONTACT_FIGURES = (
    "reputation",
    "rank",
    "social_value",
    "deflected_cases",
    "engagement_level",
    "last_active",
)
#: Per-record errors that say "not now" rather than "never".
TRANSIENT_ERRORS = {"UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE"}
#: Case statuses that mean the customer has to act (everything else open is "open").
PENDING_STATUSES = {"on hold", "waiting on customer", "pending"}
COLLECTION_LIMIT = 200
SALESFORCE_ID = re.compile(r"[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?")


class _AuthFailed(RuntimeError):
    """Salesforce would not issue a token: a setting is wrong, not the delivery."""


def _literal(value: str) -> str:
    """A SOQL string literal."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _salesforce_datetime(value) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, date):
        return value.isoformat() + "T00:00:00.000Z"
    raise ValueError(f"not a date and time: {value!r}")


def _json_value(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _dig(record: Mapping, dotted: str):
    value = record
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _errors_text(errors) -> str:
    parts = []
    for error in errors or ():
        if not isinstance(error, Mapping):
            parts.append(str(error))
            continue
        code = error.get("statusCode") or error.get("errorCode") or "ERROR"
        text = f"{code}: {error.get('message', '')}".strip()
        if error.get("fields"):
            text += f" ({', '.join(error['fields'])})"
        parts.append(text)
    return "; ".join(parts) or "no reason given"


class SalesforceConnector(Connector):
    name = "salesforce"
    batch_size = COLLECTION_LIMIT

    def __init__(
        self,
        *,
        instance_url: str,
        client_id: str,
        client_secret: str | None = None,
        private_key: str | None = None,
        username: str | None = None,
        audience: str = "https://login.salesforce.com",
        token_url: str | None = None,
        api_version: str = "62.0",
        external_id_field: str = "Parley_Member_Id__c",
        activity_object: str = "Task",
        field_map: Mapping[str, str] | None = None,
        limit_backoff: float = 300.0,
    ):
        if not client_secret and not (private_key and username):
            raise ValueError(
                "CRM_SALESFORCE_CLIENT_SECRET, or CRM_SALESFORCE_PRIVATE_KEY with "
                "CRM_SALESFORCE_USERNAME, is required"
            )
        self.instance_url = instance_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.private_key = private_key
        self.username = username
        self.audience = audience
        self.token_url = token_url or f"{self.instance_url}/services/oauth2/token"
        self.api_version = api_version.lstrip("v")
        self.external_id_field = external_id_field
        self.activity_object = activity_object
        self.fields = {**DEFAULT_FIELD_MAP, **(field_map or {})}
        self.limit_backoff = limit_backoff
        self._http = _http.session()
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._api_url = self.instance_url
        self._pulled_since: datetime | None = None

    @classmethod
    def from_config(cls, config: Mapping) -> SalesforceConnector:
        def setting(name: str, default=None, required=False):
            value = config.get(f"CRM_SALESFORCE_{name}", default)
            if required and not value:
                raise ValueError(f"CRM_SALESFORCE_{name} is not set")
            return value

        field_map = setting("FIELD_MAP") or {}
        if isinstance(field_map, str):
            try:
                field_map = json.loads(field_map)
            except ValueError as error:
                raise ValueError(f"CRM_SALESFORCE_FIELD_MAP is not JSON: {error}") from error
        if not isinstance(field_map, Mapping) or not all(
            isinstance(v, str) and v for v in field_map.values()
        ):
            raise ValueError("CRM_SALESFORCE_FIELD_MAP must map names to Salesforce field names")
        unknown = set(field_map) - set(DEFAULT_FIELD_MAP)
        if unknown:
            raise ValueError(f"CRM_SALESFORCE_FIELD_MAP has unknown names: {sorted(unknown)}")
        key = setting("PRIVATE_KEY")
        if key and not key.lstrip().startswith("-----BEGIN"):
            path = Path(key)
            if not path.is_file():
                raise ValueError("CRM_SALESFORCE_PRIVATE_KEY is neither PEM text nor a file")
            key = path.read_text()
        try:
            limit_backoff = float(setting("LIMIT_BACKOFF") or 300.0)
        except ValueError as error:
            raise ValueError("CRM_SALESFORCE_LIMIT_BACKOFF must be a number of seconds") from error
        return cls(
            instance_url=setting("INSTANCE_URL", required=True),
            client_id=setting("CLIENT_ID", required=True),
            client_secret=setting("CLIENT_SECRET"),
            private_key=key,
            username=setting("USERNAME"),
            audience=setting("AUDIENCE") or "https://login.salesforce.com",
            token_url=setting("TOKEN_URL"),
            api_version=str(setting("API_VERSION") or "62.0"),
            external_id_field=setting("EXTERNAL_ID_FIELD") or "Parley_Member_Id__c",
            activity_object=setting("ACTIVITY_OBJECT") or "Task",
            field_map=field_map,
            limit_backoff=limit_backoff,
        )

    def close(self) -> None:
        self._http.close()

    # -- authentication ---------------------------------------------------------

    def _grant(self) -> dict:
        if self.private_key and self.username:
            import jwt  # PyJWT; only the JWT bearer flow needs it

            now = int(time.time())
            claims = {
                "iss": self.client_id,
                "sub": self.username,
                "aud": self.audience,
                "exp": now + 180,  # Salesforce accepts assertions valid for 3 minutes
            }
            assertion = jwt.encode(claims, self.private_key, algorithm="RS256")
            return {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            }
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    def _token(self, stale: str | None = None) -> str:
        """The access token; a new one if `stale` is the one Salesforce just refused."""
        with self._lock:
            if self._access_token and self._access_token != stale:
                return self._access_token
            response = _http.send(self._http, "POST", self.token_url, data=self._grant())
            body = _http.json_or_none(response) or {}
            if response.status_code >= 500:
                raise _http.Unavailable(
                    f"Salesforce token endpoint answered {response.status_code}",
                    _http.retry_after(response.headers),
                )
            if response.status_code != 200 or "access_token" not in body:
                raise _AuthFailed(
                    "Salesforce refused the credentials: "
                    f"{body.get('error', response.status_code)} {body.get('error_description', '')}"
                )
            self._access_token = body["access_token"]
            self._api_url = (body.get("instance_url") or self.instance_url).rstrip("/")
            return self._access_token

    def _request(self, method: str, path: str, **kwargs):
        """An API request; renews the token once when Salesforce says the session expired."""
        token = self._token()
        url = path if path.startswith("http") else f"{self._api_url}{path}"
        response = _http.send(
            self._http, method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs
        )
        if response.status_code == 401:
            token = self._token(stale=token)
            url = path if path.startswith("http") else f"{self._api_url}{path}"
            response = _http.send(
                self._http, method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )
        return response

    @property
    def _data(self) -> str:
        return f"/services/data/v{self.api_version}"

    # -- writing ----------------------------------------------------------------

    def _failure(self, response, body) -> Outcome:
        """The outcome for every record of a request Salesforce refused as a whole."""
        status = response.status_code
        errors = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
        codes = {e.get("errorCode") for e in errors if isinstance(e, Mapping)}
        text = f"Salesforce {status}: {_errors_text(errors) if errors else response.reason}"
        wait = _http.retry_after(response.headers)
        if "REQUEST_LIMIT_EXCEEDED" in codes:
            return Outcome.retry(text, wait if wait is not None else self.limit_backoff)
        if status >= 500 or status in (401, 403, 429):
            # Server trouble, or a permission an admin can still grant: not the record's fault.
            return Outcome.retry(text, wait)
        return Outcome.rejected(text)

    @staticmethod
    def _record_outcome(result) -> Outcome:
        if not isinstance(result, Mapping):
            return Outcome.retry(f"Salesforce answered an unreadable result: {result!r}")
        if result.get("success"):
            return Outcome.delivered(result.get("id"))
        errors = result.get("errors") or []
        codes = {e.get("statusCode") for e in errors if isinstance(e, Mapping)}
        if codes & TRANSIENT_ERRORS:
            return Outcome.retry(_errors_text(errors))
        return Outcome.rejected(_errors_text(errors))

    def _write(self, path: str, items: list[tuple[int, dict]]) -> dict[int, Outcome]:
        """PATCH one sObject collection; outcomes by delivery index."""
        if not items:
            return {}
        try:
            response = self._request(
                "PATCH", path, json={"allOrNone": False, "records": [r for _, r in items]}
            )
        except _http.Unavailable as error:
            return {i: Outcome.retry(str(error), error.retry_after) for i, _ in items}
        except _AuthFailed as error:
            return {i: Outcome.retry(str(error)) for i, _ in items}
        body = _http.json_or_none(response)
        if response.status_code == 200 and isinstance(body, list) and len(body) == len(items):
            return {i: self._record_outcome(r) for (i, _), r in zip(items, body, strict=True)}
        if response.status_code == 400 and len(items) > 1:
            # A record Salesforce cannot even parse spoils the whole request: halve the
            # request until the culprit stands alone, so only it is rejected.
            middle = len(items) // 2
            return self._write(path, items[:middle]) | self._write(path, items[middle:])
        outcome = self._failure(response, body)
        return {i: outcome for i, _ in items}

    def _upsert(
        self, sobject: str, key_field: str, items: list[tuple[int, dict]]
    ) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        for batch in _http.rounds(items, key=lambda item: item[1][key_field]):
            for chunk in _http.chunks(batch, COLLECTION_LIMIT):
                outcomes |= self._write(
                    f"{self._data}/composite/sobjects/{sobject}/{key_field}", chunk
                )
        return outcomes

    def _update_by_id(self, items: list[tuple[int, dict]]) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        for batch in _http.rounds(items, key=lambda item: item[1]["id"]):
            for chunk in _http.chunks(batch, COLLECTION_LIMIT):
                outcomes |= self._write(f"{self._data}/composite/sobjects", chunk)
        return outcomes

    def _figures(self, data: Mapping) -> dict:
        record = {}
        for name in CONTACT_FIGURES:
            if name in data and data[name] is not None:
                value = data[name]
                if name == "last_active":
                    value = _salesforce_datetime(value)
                record[self.fields[name]] = _json_value(value)
        return record

    def _contact_record(self, delivery: Delivery, by_id: bool) -> dict:
        data, contact = delivery.data, delivery.contact
        record = {"attributes": {"type": "Contact"}, **self._figures(data)}
        if by_id:
            record["id"] = contact.external_id
            return record
        record[self.external_id_field] = str(contact.member_id)
        if contact.email:
            record["Email"] = contact.email
        if data.get("first_name"):
            record["FirstName"] = str(data["first_name"])[:40]
        # LastName is required to create a Contact; only contacts Parley created
        # itself are upserted by member id, so this never renames someone's record.
        last = data.get("last_name") or data.get("name")
        if not last and contact.email:
            last = contact.email.split("@", 1)[0]
        record["LastName"] = str(last or f"Member {contact.member_id}")[:80]
        return record

    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        contact_ids: dict[str, str] = {}  # member id -> Salesforce Contact Id
        linked, by_member, others = [], [], []
        for index, delivery in enumerate(deliveries):
            contact = delivery.contact
            if delivery.kind not in DELIVERY_KINDS:
                outcomes[index] = Outcome.rejected(f"unknown delivery kind {delivery.kind!r}")
            elif delivery.kind != "contact":
                others.append((index, delivery))
            elif not contact or (not contact.external_id and contact.member_id is None):
                outcomes[index] = Outcome.rejected("a contact update names no contact")
            else:
                by_id = bool(contact.external_id)
                try:
                    record = self._contact_record(delivery, by_id=by_id)
                except (TypeError, ValueError) as error:
                    outcomes[index] = Outcome.rejected(f"contact data is invalid: {error}")
                    continue
                (linked if by_id else by_member).append((index, record))

        outcomes |= self._update_by_id(linked)
        upserted = self._upsert("Contact", self.external_id_field, by_member)
        outcomes |= upserted
        waiting: dict[str, Outcome] = {}  # member id -> why their contact is not there yet
        for index, record in by_member:
            member_id = record[self.external_id_field]
            if upserted[index].status == "delivered":
                contact_ids[member_id] = upserted[index].external_id
                waiting.pop(member_id, None)
            elif upserted[index].status == "retry":
                waiting[member_id] = upserted[index]

        # What belongs to a contact whose update must be retried waits for it, so that
        # no Task or Case is created without the person it is about.
        for index, delivery in list(others):
            contact = delivery.contact
            member_id = str(contact.member_id) if contact and not contact.external_id else None
            if member_id in waiting:
                outcomes[index] = waiting[member_id]
                others.remove((index, delivery))
        unresolved = self._resolve_contacts(others, contact_ids)
        groups: dict[tuple[str, str], list[tuple[int, dict]]] = {}
        for index, delivery in others:
            if index in unresolved:
                outcomes[index] = unresolved[index]
                continue
            contact_id = self._contact_id(delivery, contact_ids)
            try:
                sobject, key_field, record = self._record(delivery, contact_id)
            except (KeyError, TypeError, ValueError) as error:
                outcomes[index] = Outcome.rejected(f"{delivery.kind} data is incomplete: {error}")
                continue
            groups.setdefault((sobject, key_field), []).append((index, record))
        for (sobject, key_field), items in groups.items():
            outcomes |= self._upsert(sobject, key_field, items)
        return [outcomes[index] for index in range(len(deliveries))]

    @staticmethod
    def _contact_id(delivery: Delivery, contact_ids: Mapping[str, str]) -> str | None:
        contact = delivery.contact
        if contact is None:
            return None
        if contact.external_id:
            return contact.external_id
        return contact_ids.get(str(contact.member_id))

    def _resolve_contacts(self, others, contact_ids: dict[str, str]) -> dict[int, Outcome]:
        """Look up (one query) the Contact Ids of members the batch did not just upsert.

        Returns retry outcomes for the deliveries whose contact could not be looked up,
        so that no Task is created without the person it belongs to."""
        wanted = {
            str(d.contact.member_id): index
            for index, d in others
            if d.contact and not d.contact.external_id and d.contact.member_id is not None
        }
        missing = sorted(set(wanted) - set(contact_ids))
        if not missing:
            return {}
        try:
            for chunk in _http.chunks(missing, COLLECTION_LIMIT):
                values = ", ".join(_literal(v) for v in chunk)
                field = self.external_id_field
                # Values are SOQL literals (_literal); field names come from settings.
                soql = f"SELECT Id, {field} FROM Contact WHERE {field} IN ({values})"  # noqa: S608
                for row in self._query(soql):
                    contact_ids[str(row[field])] = row["Id"]
        except (_http.Unavailable, _AuthFailed, RuntimeError) as error:
            blocked = set(missing)
            wait = getattr(error, "retry_after", None)
            return {
                index: Outcome.retry(f"could not look up the contact: {error}", wait)
                for index, d in others
                if d.contact and str(d.contact.member_id) in blocked and not d.contact.external_id
            }
        return {}

    def _record(self, delivery: Delivery, contact_id: str | None) -> tuple[str, str, dict]:
        """(sObject, external id field, record) for a delivery other than a contact update."""
        data, kind, f = delivery.data, delivery.kind, self.fields
        contact = delivery.contact
        email = contact.email if contact else None
        url = data.get("url") or data.get("thread_url") or ""
        if kind == "case":
            reference = str(data.get("reference") or delivery.id)
            description = str(data.get("description") or "")
            if data.get("thread_url"):
                description = f"{description}\n\nCommunity thread: {data['thread_url']}".strip()
            record = {
                "attributes": {"type": "Case"},
                f["case_reference"]: reference,
                "Subject": str(data["subject"])[:255],
                "Description": description[:32000],
                "Origin": "Web",
            }
            if data.get("thread_url"):
                record[f["thread_url"]] = str(data["thread_url"])[:255]
            if contact_id:
                record["ContactId"] = contact_id
            if data.get("email") or email:
                record["SuppliedEmail"] = data.get("email") or email
            return "Case", f["case_reference"], record
        if kind == "lead":
            last = data.get("last_name") or data.get("name") or (email or "").split("@")[0]
            record = {
                "attributes": {"type": "Lead"},
                f["delivery_id"]: delivery.id,
                "LastName": str(last or "Community member")[:80],
                "Company": str(
                    data.get("company") or (contact and contact.account) or "[not provided]"
                )[:255],
                "Description": "\n".join(
                    filter(None, [data.get("subject"), data.get("description"), url])
                )[:32000],
                "LeadSource": "Community",
            }
            if email:
                record["Email"] = email
            return "Lead", f["delivery_id"], record
        if kind == "activity" and self.activity_object != "Task":
            record = {
                "attributes": {"type": self.activity_object},
                f["delivery_id"]: delivery.id,
                "Name": str(data.get("title") or data["type"])[:80],
                f["activity_type"]: data["type"],
                f["activity_url"]: url[:255],
                f["activity_at"]: _salesforce_datetime(data.get("at") or delivery.occurred_at),
            }
            if contact_id:
                record[f["activity_contact"]] = contact_id
            return self.activity_object, f["delivery_id"], record
        # Tasks: a timeline activity, a follow-up task, or a note on an account.
        at = data.get("at") or delivery.occurred_at
        at_day = (datetime.fromisoformat(at) if isinstance(at, str) else at).date().isoformat()
        if kind == "activity":
            subject = data.get("title") or data["type"].replace("_", " ")
            description, status = f"{data['type']}: {data.get('title', '')}\n{url}", "Completed"
        elif kind == "task":
            subject, status = data["subject"], "Not Started"
            description = "\n".join(filter(None, [data.get("description"), url]))
        else:  # account_activity
            subject = f"Idea you asked for is now {data['status']}: {data['idea_title']}"
            description, status = "\n".join(filter(None, [data.get("note"), url])), "Completed"
        record = {
            "attributes": {"type": "Task"},
            f["delivery_id"]: delivery.id,
            "Subject": str(subject)[:255],
            "Description": description.strip()[:32000],
            "Status": status,
            "Priority": "Normal",
            "ActivityDate": at_day,
        }
        account = contact.account if contact else None
        if kind == "account_activity" and account and SALESFORCE_ID.fullmatch(account):
            record["WhatId"] = account
        elif contact_id:
            record["WhoId"] = contact_id
        return "Task", f["delivery_id"], record

    # -- pulling ----------------------------------------------------------------

    def _query(self, soql: str) -> list[dict]:
        response = self._request("GET", f"{self._data}/query", params={"q": soql})
        records = []
        while True:
            body = _http.json_or_none(response)
            if response.status_code != 200 or not isinstance(body, dict):
                outcome = self._failure(response, body)
                if outcome.status == "retry":
                    raise _http.Unavailable(outcome.error, outcome.retry_after)
                raise RuntimeError(outcome.error)
            records.extend(body.get("records") or [])
            if body.get("done", True) or not body.get("nextRecordsUrl"):
                return records
            response = self._request("GET", body["nextRecordsUrl"])

    def pull(self, case_references: Sequence[str] = ()) -> Pulled:
        """Contacts changed since the last pull (all linked ones the first time) and cases.

        Raises `_http.Unavailable` when Salesforce cannot answer now."""
        try:
            return Pulled(contacts=self._pull_contacts(), cases=self._pull_cases(case_references))
        except _AuthFailed as error:
            raise _http.Unavailable(str(error)) from error

    def _pull_contacts(self) -> list[ContactAttributes]:
        f = self.fields
        wanted = [
            f[name] for name in ("segment", "tier", "customer_value", "renewal_on", "account_name")
        ]
        columns = ", ".join(
            dict.fromkeys(["Id", "Email", self.external_id_field, *wanted, "SystemModstamp"])
        )
        where = f"{self.external_id_field} != null"
        if self._pulled_since:
            # >= with the last stamp seen: a contact changed in the same second is not missed.
            where += f" AND SystemModstamp >= {self._pulled_since.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        soql = f"SELECT {columns} FROM Contact WHERE {where} ORDER BY SystemModstamp"  # noqa: S608
        rows = self._query(soql)
        contacts = []
        for row in rows:
            value = _dig(row, f["customer_value"])
            renewal = _dig(row, f["renewal_on"])
            try:
                customer_value = Decimal(str(value)) if value is not None else None
            except InvalidOperation:
                customer_value = None
            contacts.append(
                ContactAttributes(
                    email=row.get("Email"),
                    external_id=row.get("Id"),
                    segment=_dig(row, f["segment"]),
                    tier=_dig(row, f["tier"]),
                    customer_value=customer_value,
                    account_name=_dig(row, f["account_name"]),
                    renewal_on=date.fromisoformat(renewal) if renewal else None,
                    fields={"member_id": row.get(self.external_id_field)},
                )
            )
            stamp = row.get("SystemModstamp")
            if stamp:
                seen = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")
                if self._pulled_since is None or seen > self._pulled_since:
                    self._pulled_since = seen
        return contacts

    def _pull_cases(self, references: Sequence[str]) -> list[CaseStatus]:
        f = self.fields
        cases = []
        for chunk in _http.chunks(list(dict.fromkeys(references)), COLLECTION_LIMIT):
            values = ", ".join(_literal(r) for r in chunk)
            columns = f"{f['case_reference']}, Status, IsClosed, {f['resolution']}"
            # Values are SOQL literals (_literal); field names come from settings.
            soql = f"SELECT {columns} FROM Case WHERE {f['case_reference']} IN ({values})"  # noqa: S608
            for row in self._query(soql):
                status = str(row.get("Status") or "")
                if row.get("IsClosed"):
                    state = "closed"
                elif status.lower() in PENDING_STATUSES:
                    state = "pending"
                else:
                    state = "open"
                cases.append(
                    CaseStatus(
                        reference=row[f["case_reference"]],
                        status=state,
                        resolution=_dig(row, f["resolution"]),
                    )
                )
        return cases
