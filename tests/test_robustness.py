"""No route answers 500, whatever it is sent: every rule the app registers is
called with existing, missing and absurd ids and with junk parameters and bodies."""

import itertools
import json

import pytest
from werkzeug.routing import IntegerConverter

JUNK_QUERIES = [
    "",
    "?page=abc&per_page=-5&sort=%3Cscript%3E",
    "?page=0&per_page=1000000&sort=solved",
    "?page=99999999999999999999&q=%22unbalanced",
    "?sort=" + "x" * 5000,
    "?next=%2F%2Fevil.example&title=" + "é" * 300,
]
JUNK_FORMS = [
    {},
    {"body": "", "title": "", "tags": "", "roles": "emperor", "action": "explode"},
    {"body": "x" * 60_000, "title": "y" * 500, "position": "not-a-number", "email": "@@"},
    {"body": "nul \x00 byte", "name": "\u202e", "slug": "../../etc", "kind": "nope"},
    b"\xff\xfe not utf-8 \xc3\x28",
]
JUNK_JSON = [
    "not json at all",
    json.dumps([1, 2, 3]),
    json.dumps("a string"),
    json.dumps({"title": 5, "body": ["x"], "tags": "nope", "space": {}, "kind": None, "ids": "x"}),
    json.dumps({"title": "t" * 1000, "body": "b" * 60_000, "tags": ["a"] * 50, "space": "x"}),
    json.dumps({"email": None, "password": 12, "importance": "huge"}),
]


def _urls(app, rule):
    ids = {"existing": 1, "missing": 99_999_999, "absurd": 10**30}
    values = []
    for kind in ids.values():
        args = {}
        for name, converter in rule._converters.items():
            if isinstance(converter, IntegerConverter):
                args[name] = kind
            else:
                args[name] = "getting-started" if kind == 1 else "no-such-thing-é"
        values.append(args)
    with app.test_request_context():
        from flask import url_for

        return {url_for(rule.endpoint, **args) for args in values}


@pytest.fixture
def community(app, runner):
    assert runner.invoke(args=["demo-data"]).exit_code == 0
    return app


@pytest.mark.parametrize("who", ["visitor", "customer", "admin"])
def test_no_route_answers_500(community, who):
    app = community
    client = app.test_client()
    if who != "visitor":
        email = "admin@example.com" if who == "admin" else "jordan@acme.example"
        login = client.post("/login", data={"email": email, "password": "parley-demo-password"})
        assert login.status_code == 302
    failures = []
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    assert len(rules) > 30
    for rule in rules:
        for url in _urls(app, rule):
            if rule.endpoint == "community.logout":
                continue  # signing out would end the rest of this crawl
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if method == "GET":
                    attempts = [client.get(url + q) for q in JUNK_QUERIES]
                elif url.startswith("/api/"):
                    attempts = [
                        client.open(url, method=method, data=body, content_type=ctype)
                        for body, ctype in itertools.product(
                            JUNK_JSON, ["application/json", "text/plain"]
                        )
                    ]
                else:
                    attempts = [client.open(url, method=method, data=form) for form in JUNK_FORMS]
                failures += [
                    f"{method} {url}: {r.status_code}" for r in attempts if r.status_code >= 500
                ]
    assert failures == []
