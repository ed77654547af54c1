"""A Salesforce REST API fake that refuses what Salesforce refuses.

Enforced (see docs/crm.md, "What the fakes enforce"): the OAuth 2.0 token endpoint (client
credentials and JWT bearer with RS256, audience, issuer, subject and a 3-minute
expiry), Bearer sessions that expire with 401 INVALID_SESSION_ID, API versions,
sObject Collections upsert/update (PATCH only, at most 200 records with
EXCEEDED_ID_LIMIT, the attributes map with the URI's type, external id fields,
allOrNone false, per-record UpsertResults), the schema (unknown fields, type
errors, read-only fields, lengths, e-mail addresses, restricted picklists,
references, required fields on insert), a small SOQL subset with datetime
literals unquoted and query locators, and the API request limit
(403 REQUEST_LIMIT_EXCEEDED).
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs

import jwt

from tests.crm_bridge.connectors.fake_http import FakeService, Reply, Request

LATEST_VERSION = 62.0
COLLECTION_LIMIT = 200
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})")


@dataclass(frozen=True)
class Field:
    type: str  # id string textarea email url double boolean date datetime reference picklist
    length: int = 255
    required: bool = False  # on insert
    external_id: bool = False
    readonly: bool = False
    to: str | None = None  # referenced sObject
    values: tuple = ()  # restricted picklist values


def _schema():
    ref = lambda to: Field("reference", to=to)  # noqa: E731
    stamp = Field("datetime", readonly=True)
    text = lambda n=255: Field("string", length=n)  # noqa: E731
    figures = {
        "Parley_Member_Id__c": Field("string", external_id=True),
        "Parley_Reputation__c": Field("double"),
        "Parley_Rank__c": text(80),
        "Parley_Social_Value__c": Field("double"),
        "Parley_Deflected_Cases__c": Field("double"),
        "Parley_Engagement_Level__c": text(40),
        "Parley_Last_Active__c": Field("datetime"),
        "Parley_Segment__c": text(80),
        "Parley_Tier__c": text(40),
        "Parley_Customer_Value__c": Field("double"),
        "Parley_Renewal_Date__c": Field("date"),
    }
    return {
        "Account": {
            "Id": Field("id"),
            "Name": Field("string", required=True),
            "AnnualRevenue": Field("double"),
            "SystemModstamp": stamp,
        },
        "Contact": {
            "Id": Field("id"),
            "FirstName": text(40),
            "LastName": Field("string", length=80, required=True),
            "Email": Field("email", length=80),
            "AccountId": ref("Account"),
            "SystemModstamp": stamp,
            **figures,
        },
        "Case": {
            "Id": Field("id"),
            "Subject": text(255),
            "Description": Field("textarea", length=32000),
            "Status": Field(
                "picklist", values=("New", "Working", "On Hold", "Escalated", "Closed")
            ),
            "IsClosed": Field("boolean", readonly=True),
            "Origin": Field("picklist", values=("Phone", "Email", "Web")),
            "SuppliedEmail": Field("email", length=80),
            "ContactId": ref("Contact"),
            "Parley_Case_Reference__c": Field("string", external_id=True),
            "Parley_Thread_URL__c": Field("url"),
            "Parley_Resolution__c": Field("textarea", length=32000),
            "SystemModstamp": stamp,
        },
        "Lead": {
            "Id": Field("id"),
            "LastName": Field("string", length=80, required=True),
            "Company": Field("string", required=True),
            "Email": Field("email", length=80),
            "Description": Field("textarea", length=32000),
            "LeadSource": Field("picklist", values=("Web", "Community", "Other")),
            "Parley_Delivery_Id__c": Field("string", external_id=True),
            "SystemModstamp": stamp,
        },
        "Task": {
            "Id": Field("id"),
            "Subject": text(255),
            "Description": Field("textarea", length=32000),
            "Status": Field("picklist", values=("Not Started", "In Progress", "Completed")),
            "Priority": Field("picklist", values=("High", "Normal", "Low")),
            "ActivityDate": Field("date"),
            "WhoId": Field("reference", to="Contact|Lead"),
            "WhatId": Field("reference", to="Account|Case"),
            "Parley_Delivery_Id__c": Field("string", external_id=True),
            "SystemModstamp": stamp,
        },
        "Parley_Activity__c": {
            "Id": Field("id"),
            "Name": text(80),
            "Parley_Delivery_Id__c": Field("string", external_id=True),
            "Parley_Type__c": text(40),
            "Parley_URL__c": Field("url"),
            "Parley_Contact__c": ref("Contact"),
            "Parley_Occurred_At__c": Field("datetime"),
            "SystemModstamp": stamp,
        },
    }


PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Case": "500",
    "Lead": "00Q",
    "Task": "00T",
    "Parley_Activity__c": "a01",
}
DEFAULTS = {
    "Case": {"Status": "New"},
    "Task": {"Status": "Not Started", "Priority": "Normal"},
}


def _errors(status: int, code: str, message: str, fields=None) -> Reply:
    error = {"message": message, "errorCode": code}
    if fields is not None:
        error["fields"] = fields
    return Reply(status, [error])


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


class FakeSalesforce(FakeService):
    def __init__(
        self,
        *,
        client_id="parley-app",
        client_secret="s3cret",
        username="integration@example.com",
        public_key: str | None = None,
        audience="https://login.salesforce.com",
        session_seconds=3600,
    ):
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.public_key = public_key
        self.audience = audience
        self.session_seconds = session_seconds
        self.schema = _schema()
        self.records: dict[str, dict[str, dict]] = {name: {} for name in self.schema}
        self.tokens: dict[str, float] = {}
        self.request_limit: int | None = None  # API requests allowed before REQUEST_LIMIT_EXCEEDED
        self.api_requests = 0
        self.query_page_size = 2000
        self._cursors: dict[str, list] = {}
        self._ids = itertools.count(1)

    # -- helpers for tests -----------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC)

    def insert(self, sobject: str, **values) -> str:
        with self.lock:
            return self._insert(sobject, values)

    def find(self, sobject: str, **criteria) -> list[dict]:
        with self.lock:
            return [
                dict(r)
                for r in self.records[sobject].values()
                if all(r.get(k) == v for k, v in criteria.items())
            ]

    def update(self, sobject: str, record_id: str, **values):
        with self.lock:
            record = self.records[sobject][record_id]
            record.update(values)
            self._derive(sobject, record)

    def expire_tokens(self):
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def flaky_reply(self, roll: float) -> Reply:
        if roll < self.fail_before / 2:
            return _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return _errors(503, "SERVER_UNAVAILABLE", "Service temporarily unavailable")

    # -- plumbing --------------------------------------------------------------

    def _new_id(self, sobject: str) -> str:
        return f"{PREFIXES[sobject]}{next(self._ids):012d}AAA"

    def _derive(self, sobject, record):
        record["SystemModstamp"] = _stamp(self.now())
        if sobject == "Case":
            record["IsClosed"] = record.get("Status") == "Closed"

    def _insert(self, sobject, values) -> str:
        record = {"Id": self._new_id(sobject), **DEFAULTS.get(sobject, {}), **values}
        self._derive(sobject, record)
        self.records[sobject][record["Id"]] = record
        return record["Id"]

    def handle(self, request: Request) -> Reply:
        if request.path == "/services/oauth2/token":
            return self._token(request)
        match = re.fullmatch(r"/services/data/v(\d+\.\d)(/.*)", request.path)
        if not request.path.startswith("/services/data/"):
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        with self.lock:
            valid = token is not None and self.tokens.get(token, 0.0) > time.time()
            if not valid:
                return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
            self.api_requests += 1
            if self.request_limit is not None and self.api_requests > self.request_limit:
                return _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        injected = self.take_injected()
        if injected:
            return injected
        if not match or not 20.0 <= float(match.group(1)) <= LATEST_VERSION:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        version, rest = float(match.group(1)), match.group(2)
        with self.lock:
            return self._api(request, version, rest)

    def _api(self, request: Request, version: float, rest: str) -> Reply:
        upsert = re.fullmatch(r"/composite/sobjects/(\w+)/(\w+)", rest)
        if upsert:
            if request.method != "PATCH":
                return _method_not_allowed(request.method, "PATCH")
            if version < 46.0:
                return _errors(404, "NOT_FOUND", "The requested resource does not exist")
            return self._collection(request, *upsert.groups())
        if rest == "/composite/sobjects":
            if request.method != "PATCH":  # (POST creates; Parley never creates by Id)
                return _method_not_allowed(request.method, "PATCH")
            return self._collection(request, None, None)
        if rest == "/query" or rest.startswith("/query/"):
            if request.method != "GET":
                return _method_not_allowed(request.method, "GET")
            if rest == "/query":
                return self._query(request.query.get("q", ""), version)
            return self._next_page(rest.removeprefix("/query/"))
        return _errors(404, "NOT_FOUND", "The requested resource does not exist")

    # -- OAuth -----------------------------------------------------------------

    def _token(self, request: Request) -> Reply:
        if request.method != "POST":
            return Reply(
                405, {"error": "invalid_request", "error_description": "must use HTTP POST"}
            )
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return Reply(
                400, {"error": "invalid_request", "error_description": "unsupported content type"}
            )
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if (
                form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                return Reply(
                    400,
                    {"error": "invalid_client", "error_description": "invalid client credentials"},
                )
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            if not self.public_key:
                return Reply(
                    400, {"error": "invalid_grant", "error_description": "invalid assertion"}
                )
            try:
                claims = jwt.decode(
                    form.get("assertion", ""),
                    self.public_key,
                    algorithms=["RS256"],
                    audience=self.audience,
                    options={"require": ["iss", "sub", "aud", "exp"]},
                )
            except jwt.InvalidTokenError:
                return Reply(
                    400, {"error": "invalid_grant", "error_description": "invalid assertion"}
                )
            if claims["iss"] != self.client_id:
                return Reply(
                    400,
                    {
                        "error": "invalid_client_id",
                        "error_description": "client identifier invalid",
                    },
                )
            if claims["sub"] != self.username:
                return Reply(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "user hasn't approved this consumer",
                    },
                )
            if claims["exp"] > time.time() + 180 + 5:
                return Reply(
                    400,
                    {"error": "invalid_grant", "error_description": "expired authorization code"},
                )
        else:
            return Reply(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
            )
        token = "00D" + secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = time.time() + self.session_seconds
        return Reply(
            200,
            {
                "access_token": token,
                "instance_url": self.url,
                "id": f"{self.url}/id/00Dxx0000000001/005xx0000000001",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
                "signature": secrets.token_urlsafe(32),
            },
        )

    # -- sObject Collections -----------------------------------------------------

    def _collection(self, request: Request, sobject: str | None, key_field: str | None) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return _errors(400, "JSON_PARSER_ERROR", "Unexpected character in request body")
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return _errors(400, "JSON_PARSER_ERROR", "records is required")
        if not isinstance(body.get("allOrNone", False), bool):
            return _errors(400, "JSON_PARSER_ERROR", "allOrNone must be a boolean")
        records = body["records"]
        if len(records) > COLLECTION_LIMIT:
            return _errors(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        if sobject is not None:
            if sobject not in self.schema:
                return _errors(404, "NOT_FOUND", "The requested resource does not exist")
            field = self.schema[sobject].get(key_field)
            if field is None or not field.external_id:
                return _errors(
                    400,
                    "INVALID_FIELD",
                    f"Field name provided, {key_field} is not an External ID "
                    f"or indexed field for {sobject}",
                )
        # Whole-request checks: the request must deserialize.
        for record in records:
            attributes = record.get("attributes") if isinstance(record, dict) else None
            kind = attributes.get("type") if isinstance(attributes, dict) else None
            if kind is None:
                return _errors(400, "INVALID_TYPE", "Must send a concrete entity type.")
            if sobject is not None and kind != sobject:
                return _errors(
                    400, "INVALID_TYPE", f"Record of type {kind} in a {sobject} collection"
                )
            if kind not in self.schema:
                return _errors(400, "INVALID_TYPE", f"sObject type '{kind}' is not supported.")
            for name, value in record.items():
                if name == "attributes" or (name.lower() == "id" and sobject is None):
                    continue
                if name.lower() == "id":
                    return _errors(
                        400,
                        "INVALID_FIELD",
                        "Only external ids are supported. Don't use record ids.",
                    )
                field = self.schema[kind].get(name)
                if field is None:
                    return _errors(
                        400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {kind}"
                    )
                problem = _type_problem(field, value)
                if problem:
                    return _errors(400, "JSON_PARSER_ERROR", f"{problem} for field {name}")
        if body.get("allOrNone"):
            return _errors(400, "INVALID_INPUT", "this fake only models allOrNone false")
        results = []
        keys = [r.get(key_field) for r in records] if key_field else [r.get("id") for r in records]
        for record, key in zip(records, keys, strict=True):
            if key is not None and keys.count(key) > 1:
                results.append(_failed("DUPLICATE_VALUE", f"Duplicate id in records: {key}", []))
            elif key_field:
                results.append(self._upsert_one(sobject, key_field, record))
            else:
                results.append(self._update_one(record))
        return Reply(200, results)

    def _upsert_one(self, sobject, key_field, record) -> dict:
        values = {k: v for k, v in record.items() if k != "attributes"}
        if values.get(key_field) in (None, ""):
            return _failed(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{key_field}]", [key_field]
            )
        matches = [
            r for r in self.records[sobject].values() if r.get(key_field) == values[key_field]
        ]
        if len(matches) > 1:
            return _failed(
                "DUPLICATE_EXTERNAL_ID", f"{key_field}: more than one record found", [key_field]
            )
        existing = matches[0] if matches else None
        problem = self._validate(sobject, values, creating=existing is None)
        if problem:
            return problem
        if existing:
            existing.update(values)
            self._derive(sobject, existing)
            return {"id": existing["Id"], "success": True, "errors": [], "created": False}
        new_id = self._insert(sobject, values)
        return {"id": new_id, "success": True, "errors": [], "created": True}

    def _update_one(self, record) -> dict:
        sobject = record["attributes"]["type"]
        record_id = record.get("id") or record.get("Id")
        if not isinstance(record_id, str) or not re.fullmatch(
            r"[A-Za-z0-9]{15}([A-Za-z0-9]{3})?", record_id
        ):
            return _failed("MALFORMED_ID", f"malformed id {record_id}", [])
        existing = self.records[sobject].get(record_id)
        if existing is None:
            return _failed("ENTITY_IS_DELETED", "entity is deleted", [])
        values = {k: v for k, v in record.items() if k not in ("attributes", "id", "Id")}
        problem = self._validate(sobject, values, creating=False)
        if problem:
            return problem
        existing.update(values)
        self._derive(sobject, existing)
        return {"id": record_id, "success": True, "errors": []}

    def _validate(self, sobject, values, creating) -> dict | None:
        schema = self.schema[sobject]
        for name, value in values.items():
            field = schema[name]
            label = name.removesuffix("__c").replace("_", " ")
            if field.readonly:
                return _failed(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}.",
                    [name],
                )
            if value is None:
                continue
            if field.type in ("string", "textarea", "email", "url") and len(value) > field.length:
                return _failed(
                    "STRING_TOO_LONG",
                    f"{label}: data value too large: {value[:20]}... (max length={field.length})",
                    [name],
                )
            if field.type == "email" and not EMAIL.fullmatch(value):
                return _failed(
                    "INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}", [name]
                )
            if field.type == "picklist" and value not in field.values:
                return _failed(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{label}: bad value for restricted picklist field: {value}",
                    [name],
                )
            if field.type == "reference":
                if not re.fullmatch(r"[A-Za-z0-9]{15}([A-Za-z0-9]{3})?", value):
                    return _failed(
                        "MALFORMED_ID", f"{label}: id value of incorrect type: {value}", [name]
                    )
                targets = field.to.split("|")
                if not any(value in self.records[t] for t in targets):
                    return _failed(
                        "INVALID_CROSS_REFERENCE_KEY",
                        f"{label}: id value of incorrect type: {value}",
                        [name],
                    )
        if creating:
            missing = [n for n, f in schema.items() if f.required and values.get(n) in (None, "")]
            if missing:
                return _failed(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
        return None

    # -- SOQL ------------------------------------------------------------------

    def _query(self, soql: str, version: float) -> Reply:
        match = re.fullmatch(
            r"\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<obj>\w+)"
            r"(?:\s+WHERE\s+(?P<where>.+?))?"
            r"(?:\s+ORDER\s+BY\s+(?P<order>[\w.]+)(?:\s+(?P<dir>ASC|DESC))?)?"
            r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*",
            soql,
            re.IGNORECASE | re.DOTALL,
        )
        if not match:
            return _errors(400, "MALFORMED_QUERY", f"unexpected token in: {soql[:60]}")
        sobject = match["obj"]
        if sobject not in self.schema:
            return _errors(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        fields = [f.strip() for f in match["fields"].split(",")]
        for name in [*fields, *([match["order"]] if match["order"] else [])]:
            if not self._resolvable(sobject, name):
                return _errors(
                    400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'."
                )
        try:
            conditions = _parse_where(match["where"] or "")
        except ValueError as error:
            return _errors(400, "MALFORMED_QUERY", str(error))
        for name, _op, value in conditions:
            field = self.schema[sobject].get(name)
            if field is None:
                return _errors(
                    400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'."
                )
            if field.type in ("datetime", "date") and isinstance(value, str):
                return _errors(
                    400,
                    "INVALID_FIELD",
                    f"value of filter criterion for field '{name}' must be of type {field.type} "
                    "and should not be enclosed in quotes",
                )
        rows = [r for r in self.records[sobject].values() if all(_holds(r, c) for c in conditions)]
        if match["order"]:
            rows.sort(
                key=lambda r: (r.get(match["order"]) is not None, r.get(match["order"]) or "")
            )
            if (match["dir"] or "").upper() == "DESC":
                rows.reverse()
        if match["limit"]:
            rows = rows[: int(match["limit"])]
        shaped = [self._shape(sobject, r, fields, version) for r in rows]
        return self._page(shaped, version)

    def _resolvable(self, sobject, name) -> bool:
        if "." not in name:
            return name in self.schema[sobject]
        relation, field = name.split(".", 1)
        reference = self.schema[sobject].get(relation + "Id") or self.schema[sobject].get(
            relation + "__c"
        )
        return bool(
            reference and reference.to in self.schema and field in self.schema[reference.to]
        )

    def _shape(self, sobject, row, fields, version) -> dict:
        shaped = {
            "attributes": {
                "type": sobject,
                "url": f"/services/data/v{version}/sobjects/{sobject}/{row['Id']}",
            }
        }
        for name in fields:
            if "." in name:
                relation, field = name.split(".", 1)
                reference = self.schema[sobject].get(relation + "Id")
                target = self.records[reference.to].get(row.get(relation + "Id") or "")
                shaped[relation] = (
                    None
                    if target is None
                    else {
                        **(shaped.get(relation) or {"attributes": {"type": reference.to}}),
                        field: target.get(field),
                    }
                )
            else:
                shaped[name] = row.get(name)
        return shaped

    def _page(self, rows, version) -> Reply:
        page, rest = rows[: self.query_page_size], rows[self.query_page_size :]
        body = {"totalSize": len(rows), "done": not rest, "records": page}
        if rest:
            locator = f"01g{secrets.token_hex(6)}-{self.query_page_size}"
            self._cursors[locator] = (rest, version)
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}"
        return Reply(200, body)

    def _next_page(self, locator) -> Reply:
        entry = self._cursors.pop(locator, None)
        if entry is None:
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        rows, version = entry
        return self._page(rows, version)


def _method_not_allowed(method, allowed) -> Reply:
    return _errors(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}"
    )


def _failed(code, message, fields) -> dict:
    return {
        "success": False,
        "errors": [{"statusCode": code, "message": message, "fields": fields}],
    }


def _type_problem(field: Field, value) -> str | None:
    if value is None:
        return None
    if field.type == "double" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"Cannot deserialize instance of double from {type(value).__name__} value {value!r}"
    if field.type == "boolean" and not isinstance(value, bool):
        return f"Cannot deserialize instance of boolean from value {value!r}"
    if field.type in (
        "string",
        "textarea",
        "email",
        "url",
        "picklist",
        "reference",
        "id",
    ) and not isinstance(value, str):
        return f"Cannot deserialize instance of string from value {value!r}"
    if field.type == "date" and not (
        isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
    ):
        return f"Cannot deserialize instance of date from value {value!r}"
    if field.type == "datetime" and not (isinstance(value, str) and DATETIME.fullmatch(value)):
        return f"Cannot deserialize instance of datetime from value {value!r}"
    return None


_CONDITION = re.compile(
    r"\s*(?P<field>[\w.]+)\s*(?P<op>!=|<=|>=|=|<|>|\bIN\b)\s*"
    r"(?P<value>\((?:\s*'(?:[^'\\]|\\.)*'\s*,?)+\)|'(?:[^'\\]|\\.)*'|null|true|false|[0-9][0-9TZ:.+\-]*)"
    r"\s*(?P<join>\bAND\b|$)",
    re.IGNORECASE,
)
_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _unquote(text):
    return re.sub(r"\\(.)", r"\1", text)


def _parse_where(where: str) -> list[tuple]:
    conditions, position = [], 0
    while position < len(where):
        match = _CONDITION.match(where, position)
        if not match:
            raise ValueError(f"unexpected token at: {where[position : position + 30]!r}")
        raw = match["value"]
        if raw.startswith("("):
            value = [_unquote(s) for s in _STRING.findall(raw)]
        elif raw.startswith("'"):
            value = _unquote(raw[1:-1])
        elif raw.lower() == "null":
            value = None
        elif raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        elif "T" in raw:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        else:
            value = (
                float(raw) if re.fullmatch(r"[\d.]+", raw) else datetime.fromisoformat(raw).date()
            )
        conditions.append((match["field"], match["op"].upper(), value))
        position = match.end()
    return conditions


def _holds(row, condition) -> bool:
    name, op, value = condition
    actual = row.get(name)
    if isinstance(value, datetime) and isinstance(actual, str):
        actual = datetime.strptime(actual, "%Y-%m-%dT%H:%M:%S.%f%z")
    if op == "IN":
        return actual in value
    if op == "=":
        return actual == value
    if op == "!=":
        return actual != value
    if actual is None or value is None:
        return False
    return {"<": actual < value, ">": actual > value, "<=": actual <= value, ">=": actual >= value}[
        op
    ]
