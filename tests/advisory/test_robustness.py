"""No advisory route answers 500, whatever a host, a member or a visitor sends it,
on a committee that exists (the app-wide crawl only knows the demo's public slugs)."""

import itertools

import pytest
from flask import url_for
from werkzeug.routing import IntegerConverter

JUNK_QUERIES = ["", "?page=abc&per_page=-5", "?sort=" + "x" * 3000]
JUNK_FORMS = [
    {},
    {"email": "@@", "title": "", "starts_at": "yesterday", "answer": "perhaps", "amount": "NaN"},
    {"purpose": "x" * 60_000, "response_days": "-3", "member": "abc", "cohort": "99999999999"},
    {"field_1": "tier", "op_1": "gte", "value_1": "lots", "starts_on": "2027-02-30",
     "ends_on": "1999-01-01", "name": "\x00", "accept_charter": "y", "given_on": "soon"},
]  # fmt: skip
JUNK_JSON = [
    "not json",
    "[1, 2]",
    '{"email": 5, "accept_charter": "yes"}',
    '{"email": "' + "a" * 400 + '@example.com"}',
]


@pytest.mark.parametrize("who", ["visitor", "member", "host"])
def test_no_advisory_route_answers_500(app, cab, login, who):
    client = app.test_client()
    if who != "visitor":
        login(cab.host if who == "host" else cab.insider, the_client=client)
    with app.test_request_context():
        rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("advisory")]
        urls = []
        for rule in rules:
            for value in (1, 99_999_999):
                args = {
                    name: value if isinstance(conv, IntegerConverter) else "cab"
                    for name, conv in rule._converters.items()
                }
                if "token" in args:
                    args["token"] = "no-such-token-" + "x" * 20
                urls.append((rule, url_for(rule.endpoint, **args)))
    assert len(rules) > 15
    failures = []
    for rule, url in urls:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                responses = [client.get(url + q) for q in JUNK_QUERIES]
            elif url.startswith("/api/"):
                responses = [
                    client.open(url, method=method, data=body, content_type=ctype)
                    for body, ctype in itertools.product(JUNK_JSON, ["application/json"])
                ]
            else:
                responses = [client.open(url, method=method, data=form) for form in JUNK_FORMS]
            failures += [(method, url) for r in responses if r.status_code >= 500]
    assert failures == []
