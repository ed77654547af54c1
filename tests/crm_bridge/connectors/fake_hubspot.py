"""A HubSpot CRM v3 fake that refuses what HubSpot refuses.

Enforced (see docs/crm.md, "What the fakes enforce"): Bearer private-app tokens (401
INVALID_AUTHENTICATION), POST-only batch and search endpoints, at most 100 inputs
per batch, idProperty email or a unique-value property for upserts, duplicate ids
in one batch, the property schema (unknown and read-only properties, numbers,
e-mail addresses, enumeration options, dates at midnight UTC, datetimes as
milliseconds or ISO 8601) failing the whole batch with 400 VALIDATION_ERROR,
required ticket, note and task properties, HubSpot-defined association type ids
and existing targets, unique values on create, the search API (filter groups,
operators, at most 200 per page, 10,000 results reachable, 5 requests a second,
index lag), the rolling ten-second burst limit and the daily limit (429 with the
documented body and X-HubSpot-RateLimit-* headers), and results in no promised
order (the fake answers in reverse).
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from tests.crm_bridge.connectors.fake_http import FakeService, Reply, Request

BATCH_LIMIT = 100
SEARCH_LIMIT = 200
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class Prop:
    type: str  # string number date datetime enumeration bool
    unique: bool = False
    readonly: bool = False
    options: tuple = ()
    email: bool = False


def _schema():
    stamps = {
        "hs_object_id": Prop("number", readonly=True),
        "createdate": Prop("datetime", readonly=True),
        "lastmodifieddate": Prop("datetime", readonly=True),
        "hs_lastmodifieddate": Prop("datetime", readonly=True),
    }
    return {
        "contacts": {
            **stamps,
            "email": Prop("string", unique=True, email=True),
            "firstname": Prop("string"),
            "lastname": Prop("string"),
            "company": Prop("string"),
            "parley_reputation": Prop("number"),
            "parley_rank": Prop("string"),
            "parley_social_value": Prop("number"),
            "parley_deflected_cases": Prop("number"),
            "parley_engagement_level": Prop("string"),
            "parley_last_active": Prop("datetime"),
            "parley_segment": Prop("string"),
            "parley_tier": Prop("enumeration", options=("Bronze", "Silver", "Gold")),
            "parley_customer_value": Prop("number"),
            "parley_renewal_date": Prop("date"),
        },
        "companies": {**stamps, "name": Prop("string"), "domain": Prop("string")},
        "tickets": {
            **stamps,
            "subject": Prop("string"),
            "content": Prop("string"),
            "hs_pipeline": Prop("enumeration", options=("0",)),
            "hs_pipeline_stage": Prop("enumeration", options=("1", "2", "3", "4")),
            "hs_resolution": Prop("string"),
            "parley_case_reference": Prop("string", unique=True),
            "parley_thread_url": Prop("string"),
        },
        "notes": {
            **stamps,
            "hs_timestamp": Prop("datetime"),
            "hs_note_body": Prop("string"),
            "parley_delivery_id": Prop("string"),
        },
        "tasks": {
            **stamps,
            "hs_timestamp": Prop("datetime"),
            "hs_task_subject": Prop("string"),
            "hs_task_body": Prop("string"),
            "hs_task_status": Prop(
                "enumeration",
                options=("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
            ),
            "hs_task_priority": Prop("enumeration", options=("NONE", "LOW", "MEDIUM", "HIGH")),
            "hs_task_type": Prop("enumeration", options=("TODO", "CALL", "EMAIL")),
            "parley_delivery_id": Prop("string"),
        },
    }


REQUIRED = {
    "tickets": ("subject", "hs_pipeline", "hs_pipeline_stage"),
    "notes": ("hs_timestamp",),
    "tasks": ("hs_timestamp",),
}
#: HubSpot-defined association type ids: id -> (from, to).
ASSOCIATION_TYPES = {
    202: ("notes", "contacts"),
    190: ("notes", "companies"),
    204: ("tasks", "contacts"),
    16: ("tickets", "contacts"),
    15: ("contacts", "tickets"),
}
DEFAULT_ASSOCIATION = {
    ("tickets", "contacts"): 16,
    ("notes", "contacts"): 202,
    ("tasks", "contacts"): 204,
}
OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
}


def _error(status, category, message, **more) -> Reply:
    return Reply(
        status,
        {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": category,
            **more,
        },
    )


def _iso(moment: float) -> str:
    return (
        datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(moment * 1000) % 1000:03d}Z"
    )


class FakeHubSpot(FakeService):
    def __init__(self, token="pat-na1-parley", burst_limit=100, daily_limit=None):
        super().__init__()
        self.tokens = {token}
        self.token = token
        self.burst_limit = (
            burst_limit  # requests per rolling 10 seconds (Free/Starter private apps)
        )
        self.daily_limit = daily_limit
        self.search_per_second = 5
        self.search_lag = 0.0  # seconds before a write shows in search
        self.retry_after_header = False  # HubSpot's 429 may come without Retry-After
        self.schema = _schema()
        self.objects: dict[str, dict[str, dict]] = {name: {} for name in self.schema}
        self.associations: set[tuple[str, str, str, str, int]] = set()
        self._recent: deque = deque()
        self._searches: deque = deque()
        self._today = 0
        self._ids = itertools.count(1001)

    # -- helpers for tests -----------------------------------------------------

    def insert(self, object_type, **properties) -> str:
        with self.lock:
            return self._create(
                object_type, {k: str(v) for k, v in properties.items()}, visible_now=True
            )

    def find(self, object_type, **criteria) -> list[dict]:
        with self.lock:
            return [
                {"id": o["id"], **o["properties"]}
                for o in self.objects[object_type].values()
                if all(o["properties"].get(k) == v for k, v in criteria.items())
            ]

    def update(self, object_type, object_id, **properties):
        with self.lock:
            record = self.objects[object_type][object_id]
            record["properties"].update({k: str(v) for k, v in properties.items()})
            self._touch(record)

    def associated(self, from_type, from_id, to_type) -> list[str]:
        with self.lock:
            return sorted(
                t
                for f_type, f_id, t_type, t, _ in self.associations
                if (f_type, f_id, t_type) == (from_type, from_id, to_type)
            )

    def flaky_reply(self, roll: float) -> Reply:
        if roll < self.fail_before / 2:
            return _error(502, "INTERNAL_ERROR", "Bad gateway")
        return Reply(
            429,
            {
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": "TEN_SECONDLY_ROLLING",
                "requestId": str(uuid.uuid4()),
            },
        )

    # -- plumbing --------------------------------------------------------------

    def _touch(self, record):
        now = time.time()
        record["updatedAt"] = now
        stamp = _iso(now)
        record["properties"]["lastmodifieddate"] = stamp
        record["properties"]["hs_lastmodifieddate"] = stamp

    def _create(self, object_type, properties, visible_now=False) -> str:
        object_id = str(next(self._ids))
        now = time.time()
        record = {
            "id": object_id,
            "properties": {**properties, "hs_object_id": object_id, "createdate": _iso(now)},
            "createdAt": now,
            "searchableAt": now if visible_now else now + self.search_lag,
        }
        self._touch(record)
        self.objects[object_type][object_id] = record
        return object_id

    def _public(self, object_type, record, wanted=None) -> dict:
        properties = record["properties"]
        if wanted is not None:
            keep = set(wanted) | {"hs_object_id", "createdate", "lastmodifieddate"}
            properties = {k: v for k, v in properties.items() if k in keep}
        return {
            "id": record["id"],
            "properties": dict(properties),
            "createdAt": _iso(record["createdAt"]),
            "updatedAt": _iso(record["updatedAt"]),
            "archived": False,
        }

    def _rate_limited(self, searching: bool) -> Reply | None:
        now = time.time()
        with self.lock:
            while self._recent and self._recent[0] < now - 10:
                self._recent.popleft()
            while self._searches and self._searches[0] < now - 1:
                self._searches.popleft()
            policy = None
            if self.daily_limit is not None and self._today >= self.daily_limit:
                policy, message = "DAILY", "You have reached your daily limit."
            elif len(self._recent) >= self.burst_limit:
                policy, message = (
                    "TEN_SECONDLY_ROLLING",
                    "You have reached your ten_secondly_rolling limit.",
                )
            elif searching and len(self._searches) >= self.search_per_second:
                policy, message = "SECONDLY", "You have reached your secondly limit."
            if policy is None:
                self._recent.append(now)
                self._today += 1
                if searching:
                    self._searches.append(now)
                return None
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Max": str(self.burst_limit),
            "X-HubSpot-RateLimit-Remaining": "0",
        }
        if self.retry_after_header:
            headers["Retry-After"] = "3"
        return Reply(
            429,
            {
                "status": "error",
                "message": message,
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": policy,
                "requestId": str(uuid.uuid4()),
            },
            headers,
        )

    def handle(self, request: Request) -> Reply:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.tokens:
            return _error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication "
                "and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        searching = request.path.endswith("/search")
        limited = self._rate_limited(searching)
        if limited:
            return limited
        injected = self.take_injected()
        if injected:
            return injected
        routes = [
            (r"/crm/v3/objects/(\w+)/batch/upsert", self._upsert),
            (r"/crm/v3/objects/(\w+)/batch/create", self._batch_create),
            (r"/crm/v3/objects/(\w+)/search", self._search),
            (r"/crm/v4/associations/(\w+)/(\w+)/batch/associate/default", self._associate),
        ]
        for pattern, handler in routes:
            match = re.fullmatch(pattern, request.path)
            if match:
                if request.method != "POST":
                    return Reply(405, None)
                if any(t not in self.schema for t in match.groups()):
                    return _error(
                        400,
                        "OBJECT_TYPE_NOT_FOUND",
                        f"Unable to infer object type from: {match.group(1)}",
                    )
                try:
                    body = request.json()
                except ValueError:
                    return _error(400, "VALIDATION_ERROR", "Invalid input JSON on line 1")
                if not isinstance(body, dict):
                    return _error(400, "VALIDATION_ERROR", "Invalid input JSON")
                with self.lock:
                    return handler(body, *match.groups())
        return Reply(404, None)

    # -- validation ----------------------------------------------------------------

    def _inputs(self, body) -> tuple[list | None, Reply | None]:
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            return None, _error(400, "VALIDATION_ERROR", "Invalid input JSON: inputs is required")
        if len(inputs) > BATCH_LIMIT:
            return None, _error(
                400,
                "VALIDATION_ERROR",
                f"The maximum number of inputs supported in a batch request is {BATCH_LIMIT}. "
                "Please reduce the number of items and try again",
            )
        return inputs, None

    def _invalid_properties(self, object_type, properties) -> Reply | None:
        if not isinstance(properties, dict):
            return _error(
                400, "VALIDATION_ERROR", "Invalid input JSON: properties must be an object"
            )
        problems = []
        for name, value in properties.items():
            prop = self.schema[object_type].get(name)
            if prop is None:
                problems.append(
                    ("PROPERTY_DOESNT_EXIST", name, f'Property "{name}" does not exist')
                )
                continue
            if prop.readonly:
                problems.append(
                    (
                        "READ_ONLY_VALUE",
                        name,
                        f"{name} is a read only property; its value cannot be set.",
                    )
                )
                continue
            if not isinstance(value, str | int | float | bool) or value is None:
                problems.append(
                    ("INVALID_VALUE", name, f"{value!r} is not a valid value for {name}")
                )
                continue
            text = str(value)
            if text == "":
                continue  # clears the value
            if prop.type == "number" and not re.fullmatch(r"-?\d+(\.\d+)?", text):
                problems.append(("INVALID_DECIMAL", name, f"{text} was not a valid number."))
            elif prop.email and not EMAIL.fullmatch(text):
                problems.append(("INVALID_EMAIL", name, f"Email address {text} is invalid"))
            elif prop.type == "enumeration" and text not in prop.options:
                problems.append(
                    (
                        "INVALID_OPTION",
                        name,
                        f"{text} was not one of the allowed options: {list(prop.options)}",
                    )
                )
            elif prop.type == "date" and not _midnight(text):
                problems.append(("INVALID_DATE", name, f"{text} is at not midnight UTC"))
            elif prop.type == "datetime" and not _datetime(text):
                problems.append(
                    ("INVALID_DATETIME", name, f"{text} was not a valid long or ISO 8601 date")
                )
        if not problems:
            return None
        details = ", ".join(
            f'{{"isValid":false,"message":"{m}","error":"{code}","name":"{n}"}}'
            for code, n, m in problems
        )
        return _error(400, "VALIDATION_ERROR", f"Property values were not valid: [{details}]")

    def _missing_required(self, object_type, properties) -> Reply | None:
        missing = [p for p in REQUIRED.get(object_type, ()) if properties.get(p) in (None, "")]
        if missing:
            return _error(
                400,
                "VALIDATION_ERROR",
                f"Property values were not valid: {', '.join(missing)} is required",
            )
        return None

    def _by_property(self, object_type, name, value):
        for record in self.objects[object_type].values():
            if record["properties"].get(name) == value:
                return record
        return None

    # -- endpoints -------------------------------------------------------------------

    def _upsert(self, body, object_type) -> Reply:
        inputs, problem = self._inputs(body)
        if problem:
            return problem
        ids = []
        for item in inputs:
            if not isinstance(item, dict) or not item.get("id") or not item.get("idProperty"):
                return _error(400, "VALIDATION_ERROR", "Each input needs id and idProperty")
            prop = self.schema[object_type].get(item["idProperty"])
            if prop is None or not prop.unique:
                return _error(
                    400,
                    "VALIDATION_ERROR",
                    f"{item['idProperty']} is not a unique identifier property for {object_type}",
                )
            problem = self._invalid_properties(object_type, item.get("properties", {}))
            if problem:
                return problem
            ids.append(
                str(item["id"]).lower() if item["idProperty"] == "email" else str(item["id"])
            )
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            return _error(
                400,
                "VALIDATION_ERROR",
                f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique",
            )
        for item, key in zip(inputs, ids, strict=True):
            if self._by_property(object_type, item["idProperty"], key) is None:
                problem = self._missing_required(object_type, {**item.get("properties", {})})
                if problem:
                    return problem
        results = []
        for item, key in zip(inputs, ids, strict=True):
            properties = {k: str(v) for k, v in (item.get("properties") or {}).items()}
            properties[item["idProperty"]] = key
            existing = self._by_property(object_type, item["idProperty"], key)
            if existing:
                existing["properties"].update(properties)
                self._touch(existing)
                result = {**self._public(object_type, existing), "new": False}
            else:
                object_id = self._create(object_type, properties)
                result = {
                    **self._public(object_type, self.objects[object_type][object_id]),
                    "new": True,
                }
            results.append(result)
        return _batch_answer(200, results)

    def _batch_create(self, body, object_type) -> Reply:
        inputs, problem = self._inputs(body)
        if problem:
            return problem
        for item in inputs:
            if not isinstance(item, dict):
                return _error(400, "VALIDATION_ERROR", "Invalid input JSON")
            properties = item.get("properties") or {}
            problem = self._invalid_properties(object_type, properties) or self._missing_required(
                object_type, properties
            )
            if problem:
                return problem
            for name, prop in self.schema[object_type].items():
                if (
                    prop.unique
                    and properties.get(name)
                    and self._by_property(object_type, name, str(properties[name]))
                ):
                    return _error(
                        409,
                        "CONFLICT",
                        f"A {object_type} object with the value {name}={properties[name]} "
                        "already exists",
                    )
            for association in item.get("associations") or []:
                problem = self._invalid_association(object_type, association)
                if problem:
                    return problem
        results = []
        for item in inputs:
            object_id = self._create(
                object_type, {k: str(v) for k, v in (item.get("properties") or {}).items()}
            )
            for association in item.get("associations") or []:
                type_id = association["types"][0]["associationTypeId"]
                to_type = ASSOCIATION_TYPES[type_id][1]
                self.associations.add(
                    (object_type, object_id, to_type, str(association["to"]["id"]), type_id)
                )
            results.append(self._public(object_type, self.objects[object_type][object_id]))
        return _batch_answer(201, results)

    def _invalid_association(self, object_type, association) -> Reply | None:
        try:
            target = str(association["to"]["id"])
            [kind] = association["types"]
            category, type_id = kind["associationCategory"], kind["associationTypeId"]
        except (KeyError, TypeError, ValueError):
            return _error(
                400, "VALIDATION_ERROR", "Invalid input JSON: association needs to.id and one type"
            )
        if category != "HUBSPOT_DEFINED" or type_id not in ASSOCIATION_TYPES:
            return _error(
                400, "VALIDATION_ERROR", f"{category} {type_id} is not a valid association type"
            )
        from_type, to_type = ASSOCIATION_TYPES[type_id]
        if from_type != object_type:
            return _error(
                400,
                "VALIDATION_ERROR",
                f"association type {type_id} is not valid from {object_type}",
            )
        if target not in self.objects[to_type]:
            return _error(
                400, "VALIDATION_ERROR", f"{to_type} {target} is not valid: it does not exist"
            )
        return None

    def _associate(self, body, from_type, to_type) -> Reply:
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            return _error(400, "VALIDATION_ERROR", "Invalid input JSON: inputs is required")
        type_id = DEFAULT_ASSOCIATION.get((from_type, to_type))
        if type_id is None:
            return _error(
                400, "VALIDATION_ERROR", f"no default association from {from_type} to {to_type}"
            )
        for item in inputs:
            try:
                source, target = str(item["from"]["id"]), str(item["to"]["id"])
            except (KeyError, TypeError):
                return _error(
                    400, "VALIDATION_ERROR", "Invalid input JSON: from.id and to.id are required"
                )
            if source not in self.objects[from_type] or target not in self.objects[to_type]:
                return _error(
                    400,
                    "VALIDATION_ERROR",
                    f"{from_type} {source} or {to_type} {target} does not exist",
                )
        results = []
        for item in inputs:
            source, target = str(item["from"]["id"]), str(item["to"]["id"])
            self.associations.add((from_type, source, to_type, target, type_id))
            results.append(
                {
                    "fromObjectId": source,
                    "toObjectId": target,
                    "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id}],
                }
            )
        return _batch_answer(200, results)

    def _search(self, body, object_type) -> Reply:
        groups = body.get("filterGroups") or []
        limit = body.get("limit", 10)
        if not isinstance(limit, int) or not 0 < limit <= SEARCH_LIMIT:
            return _error(400, "VALIDATION_ERROR", f"limit must be between 1 and {SEARCH_LIMIT}")
        if len(groups) > 5 or sum(len(g.get("filters") or []) for g in groups) > 18:
            return _error(400, "VALIDATION_ERROR", "Too many filter groups or filters")
        schema = self.schema[object_type]
        for group in groups:
            if len(group.get("filters") or []) > 6:
                return _error(400, "VALIDATION_ERROR", "A filter group has at most 6 filters")
            for rule in group.get("filters") or []:
                if rule.get("operator") not in OPERATORS:
                    return _error(
                        400, "VALIDATION_ERROR", f"Unknown operator {rule.get('operator')}"
                    )
                if rule.get("propertyName") not in schema:
                    return _error(
                        400,
                        "VALIDATION_ERROR",
                        f"Property {rule.get('propertyName')} does not exist",
                    )
                if rule["operator"] in ("IN", "NOT_IN") and not isinstance(
                    rule.get("values"), list
                ):
                    return _error(400, "VALIDATION_ERROR", "IN needs values")
        sorts = body.get("sorts") or []
        if len(sorts) > 1:
            return _error(400, "VALIDATION_ERROR", "Only one sort is supported")
        now = time.time()
        rows = [
            r
            for r in self.objects[object_type].values()
            if r["searchableAt"] <= now
            and (not groups or any(_matches(r, g["filters"], schema) for g in groups))
        ]
        rows.sort(key=lambda r: int(r["id"]))
        if sorts:
            name = sorts[0]["propertyName"]
            rows.sort(key=lambda r: _comparable(schema.get(name), r["properties"].get(name)) or 0)
            if sorts[0].get("direction") == "DESCENDING":
                rows.reverse()
        start = int(body.get("after") or 0)
        if start + limit > 10_000:
            return _error(400, "VALIDATION_ERROR", "Search results are limited to 10,000 records")
        page = rows[start : start + limit]
        answer = {
            "total": len(rows),
            "results": [self._public(object_type, r, body.get("properties") or []) for r in page],
        }
        if start + limit < len(rows):
            answer["paging"] = {"next": {"after": str(start + limit)}}
        return Reply(200, answer)


def _batch_answer(status, results) -> Reply:
    now = _iso(time.time())
    # HubSpot does not promise the inputs' order: answer in reverse so clients cannot assume it.
    return Reply(
        status,
        {
            "status": "COMPLETE",
            "results": list(reversed(results)),
            "startedAt": now,
            "completedAt": now,
        },
    )


def _midnight(text: str) -> bool:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return True
    return text.isdigit() and int(text) % 86_400_000 == 0


def _datetime(text: str) -> bool:
    if text.isdigit():
        return True
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in text or bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


def _comparable(prop: Prop | None, value):
    if value in (None, ""):
        return None
    if prop and prop.type == "number":
        return float(value)
    if prop and prop.type == "datetime":
        if str(value).isdigit():
            return int(value)
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)
    return str(value)


def _matches(record, filters, schema) -> bool:
    for rule in filters:
        name, op = rule["propertyName"], rule["operator"]
        prop = schema.get(name)
        actual = _comparable(prop, record["properties"].get(name))
        if op == "HAS_PROPERTY":
            ok = actual is not None
        elif op == "NOT_HAS_PROPERTY":
            ok = actual is None
        elif op in ("IN", "NOT_IN"):
            values = [_comparable(prop, v) for v in rule["values"]]
            ok = (actual in values) == (op == "IN")
        else:
            expected = _comparable(prop, rule.get("value"))
            if op == "EQ":
                ok = actual == expected
            elif op == "NEQ":
                ok = actual != expected
            elif actual is None or expected is None:
                ok = False
            else:
                ok = {
                    "LT": actual < expected,
                    "LTE": actual <= expected,
                    "GT": actual > expected,
                    "GTE": actual >= expected,
                }[op]
        if not ok:
            return False
    return True
