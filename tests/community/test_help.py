"""The help flow: deflections counted once per customer, thread and day and
never for robots, support cases, and the analytics staff see."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from community import events, help, services
from community.extensions import db
from community.models import Deflection, Member, Post, SpaceMembership, SupportCase

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
ROBOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Wget/1.21.4",
    "facebookexternalhit/1.1",
    "",
]


@pytest.fixture
def c(app, admin, make_member, make_space, make_thread, make_reply):
    asker = make_member("Asker Anne")
    helper = make_member("Helper Hal")
    customer = make_member("Casey Customer")
    agent = make_member("Sam Support", roles=["support_agent"])
    insider = make_member("Ines Insider")
    billing = make_space("billing")
    mobile = make_space("mobile")
    board = make_space("board", kind="advisory", visibility="private")
    with app.test_request_context():
        db.session.add(SpaceMembership(space_id=board.id, member_id=insider.id, role="member"))
        db.session.commit()
    vat = make_thread(billing, asker, title="Invoice needs our VAT number", body="Finance asks.")
    vat_answer = make_reply(vat, helper, "Billing, then Company details, then Tax ID.")
    push = make_thread(mobile, asker, title="Android push notifications missing", body="None.")
    push_answer = make_reply(push, helper, "Grant the notification permission in Settings.")
    secret = make_thread(board, insider, title="Board-only pricing question", body="Hush.")
    with app.test_request_context():
        asker_row = db.session.get(Member, asker.id)
        services.accept_answer(db.session.get(Post, vat_answer.id), asker_row)
        services.accept_answer(db.session.get(Post, push_answer.id), asker_row)
    return SimpleNamespace(
        admin=admin, asker=asker, helper=helper, customer=customer, agent=agent,
        insider=insider, billing=billing, mobile=mobile, board=board, vat=vat, push=push,
        secret=secret,
    )  # fmt: skip


def help_token(client, q="vat invoice") -> str:
    page = client.get(f"/help?q={q}", headers={"User-Agent": BROWSER})
    assert page.status_code == 200
    match = re.search(r'data-help-token="([^"]+)"', page.get_data(as_text=True))
    assert match
    return match.group(1)


def confirm(client, thread_id, token=None, user_agent=BROWSER, query="vat invoice", **headers):
    if token:
        headers["X-Help-Token"] = token
    return client.post(
        "/api/v1/help/deflections",
        json={"query": query, "thread_id": thread_id},
        headers={"User-Agent": user_agent, **headers},
    )


def deflections(app) -> list[Deflection]:
    with app.app_context():
        rows = list(db.session.scalars(select(Deflection).order_by(Deflection.id)))
        db.session.expunge_all()
        return rows


@pytest.fixture
def sent(app):
    """The help-flow events sent during a test."""
    seen = []

    def ids(kwargs: dict) -> dict:  # objects as ids: they outlive their session
        return {key: getattr(value, "id", value) for key, value in kwargs.items()}

    def deflected(sender, **kwargs):
        seen.append(("case_deflected", sender.id, ids(kwargs)))

    def escalated(sender, **kwargs):
        seen.append(("case_escalated", sender.id, ids(kwargs)))

    events.case_deflected.connect(deflected)
    events.case_escalated.connect(escalated)
    yield seen
    events.case_deflected.disconnect(deflected)
    events.case_escalated.disconnect(escalated)


# ---- deflections --------------------------------------------------------------------------


def test_a_visitor_confirming_from_the_page_counts_once_a_day(app, client, c, sent):
    token = help_token(client)
    first = confirm(client, c.vat.id, token)
    assert first.status_code == 201
    body = first.get_json()
    assert body["counted"] is True and body["reason"] is None
    assert body["thread"]["id"] == c.vat.id and body["thread"]["url"].endswith(f"/t/{c.vat.id}")
    again = confirm(client, c.vat.id, token, query="vat number again")
    assert again.status_code == 200
    assert again.get_json() | {"recorded_at": None} == body | {
        "counted": False, "reason": "duplicate", "recorded_at": None,
    }  # fmt: skip
    other = confirm(client, c.push.id, token)
    assert other.status_code == 201

    rows = deflections(app)
    assert [(r.thread_id, r.member_id, r.query) for r in rows] == [
        (c.vat.id, None, "vat invoice"),
        (c.push.id, None, "vat invoice"),
    ]
    assert (
        rows[0].visitor_key.startswith("s:")
        and rows[0].day == rows[0].created_at.date().isoformat()
    )
    assert [
        (name, kwargs["thread"], kwargs["member"], kwargs["query"]) for name, _, kwargs in sent
    ] == [
        ("case_deflected", c.vat.id, None, "vat invoice"),
        ("case_deflected", c.push.id, None, "vat invoice"),
    ]


def test_another_browser_is_another_customer(app, c):
    for _ in range(2):
        client = app.test_client()
        assert confirm(client, c.vat.id, help_token(client)).status_code == 201
    assert len(deflections(app)) == 2


def test_the_same_member_counts_once_whichever_browser(app, c, login):
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        login(c.customer, the_client=client)
    assert confirm(first, c.vat.id, help_token(first)).status_code == 201
    response = confirm(second, c.vat.id, help_token(second))
    assert response.get_json()["reason"] == "duplicate"
    (row,) = deflections(app)
    assert (row.member_id, row.visitor_key) == (c.customer.id, f"m:{c.customer.id}")


def test_the_next_day_counts_again(app, c):
    monday = datetime(2026, 11, 2, 23, 59)
    with app.test_request_context():
        member = db.session.get(Member, c.customer.id)
        outcomes = [
            help.confirm_solution(
                c.vat.id, "vat", by=member, visitor_key="x", user_agent=BROWSER, scripted=True,
                at=moment,
            ).counted
            for moment in (monday, monday + timedelta(seconds=30), monday + timedelta(minutes=2))
        ]  # fmt: skip
    assert outcomes == [True, False, True]  # 23:59 and 00:00 are different days


@pytest.mark.parametrize("user_agent", ROBOTS)
def test_known_robots_never_count(app, client, c, user_agent, sent):
    token = help_token(client)
    response = confirm(client, c.vat.id, token, user_agent=user_agent)
    assert response.status_code == 200
    assert response.get_json()["counted"] is False
    assert response.get_json()["reason"] == "robot"
    assert deflections(app) == [] and sent == []


def test_without_the_page_script_nothing_counts(app, client, c):
    assert confirm(client, c.vat.id).get_json()["reason"] == "robot"  # no token
    assert confirm(client, c.vat.id, "forged.token").get_json()["reason"] == "robot"
    someone_else = app.test_client()
    stolen = help_token(someone_else)  # another visitor's token
    assert confirm(client, c.vat.id, stolen).get_json()["reason"] == "robot"
    # The HTML form (no script) thanks the customer but does not count.
    response = client.post(
        "/help/solved", data={"thread_id": c.vat.id, "q": "vat"}, headers={"User-Agent": BROWSER}
    )
    assert response.status_code == 302 and response.location.endswith(f"/t/{c.vat.id}")
    assert deflections(app) == []


def test_an_app_with_a_member_token_counts(app, client, c, token_for):
    headers = token_for(c.customer)
    response = client.post(
        "/api/v1/help/deflections",
        json={"query": "push", "thread_id": c.push.id},
        headers={**headers, "User-Agent": "ParleyMobile/1.0"},
    )
    assert response.status_code == 201
    assert [r.member_id for r in deflections(app)] == [c.customer.id]


def test_a_thread_the_customer_may_not_see_is_not_found(app, client, c, login):
    token = help_token(client)
    for thread_id in (c.secret.id, 99_999_999, 10**30):
        response = confirm(client, thread_id, token)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    login(c.insider)
    assert confirm(client, c.secret.id, help_token(client)).status_code == 201


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"query", "thread_id"}),
        ({"query": "", "thread_id": 1}, {"query"}),
        ({"query": "x" * 501, "thread_id": 1}, {"query"}),
        ({"query": "vat", "thread_id": "one"}, {"thread_id"}),
        ({"query": ["vat"], "thread_id": [1]}, {"query", "thread_id"}),
    ],
)
def test_bad_deflections_get_field_errors(client, c, body, fields):
    response = client.post("/api/v1/help/deflections", json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and set(error["fields"]) == fields


def test_not_json_is_refused(client, c):
    response = client.post("/api/v1/help/deflections", data="query=vat", content_type="text/plain")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("agent", ["Googlebot/2.1", "", "Mozilla/5.0 (compatible; AhrefsBot/7.0)"])
def test_looks_like_robot(agent):
    assert help.looks_like_robot(agent)


@pytest.mark.parametrize(
    "agent", [BROWSER, "Mozilla/5.0 (iPhone) Safari/604.1", "ParleyMobile/1.0"]
)
def test_people_do_not_look_like_robots(agent):
    assert not help.looks_like_robot(agent)


# ---- support cases ------------------------------------------------------------------------


def test_a_visitor_opens_a_case_and_sees_its_reference(app, client, c, sent):
    response = client.post(
        "/api/v1/help/cases",
        json={
            "subject": "VAT number still missing",
            "description": "I added it but the invoice has none.",
            "email": "Pat@Example.com",
            "query": "vat invoice",
            "thread_id": c.vat.id,
        },
    )
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert re.fullmatch(r"CASE-[A-HJ-NP-Z2-9]{8}", case["reference"])
    assert case["status"] == "pending_sync"
    assert (case["email"], case["thread_id"]) == ("Pat@example.com", c.vat.id)
    assert response.headers["Location"] == case["url"]
    assert sent == [("case_escalated", case["id"], {"member": None, "thread": c.vat.id})]

    page = client.get(case["url"])
    assert page.status_code == 200 and case["reference"] in page.get_data(as_text=True)
    assert app.test_client().get(case["url"]).status_code == 404  # someone else
    with app.test_request_context():
        row = db.session.get(SupportCase, case["id"])
        assert (row.query, row.member_id, row.subject) == ("vat invoice", None, case["subject"])


def test_a_member_case_uses_their_address(client, c, token_for):
    headers = token_for(c.customer)
    response = client.post(
        "/api/v1/help/cases",
        json={"subject": "Android still silent", "description": "Permission is on."},
        headers=headers,
    )
    assert response.status_code == 201
    assert response.get_json()["email"] == c.customer.email


def test_staff_may_look_at_a_case(app, client, c, login):
    reference = client.post(
        "/api/v1/help/cases",
        json={"subject": "Help me please", "description": "x", "email": "p@example.com"},
    ).get_json()["reference"]
    staff = login(c.agent, the_client=app.test_client())
    assert staff.get(f"/help/cases/{reference}").status_code == 200
    assert staff.get(f"/help/cases/{reference.lower()}").status_code == 200
    assert staff.get("/help/cases/CASE-NOPE").status_code == 404


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"subject", "description", "email"}),
        ({"subject": "Hey", "description": "x", "email": "p@example.com"}, {"subject"}),
        ({"subject": "Long enough", "description": "x", "email": "not-an-address"}, {"email"}),
        (
            {"subject": "Long enough", "description": "x" * 5001, "email": "p@x.com"},
            {"description"},
        ),
        ({"subject": 5, "description": None, "email": ["x"]}, {"subject", "description", "email"}),
    ],
)
def test_bad_cases_get_field_errors(app, client, c, body, fields):
    response = client.post("/api/v1/help/cases", json=body)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == fields
    with app.app_context():
        assert db.session.scalar(select(func.count(SupportCase.id))) == 0


def test_a_case_never_links_a_thread_the_customer_may_not_see(app, client, c):
    response = client.post(
        "/api/v1/help/cases",
        json={"subject": "About pricing", "description": "x", "email": "p@example.com",
              "thread_id": c.secret.id},
    )  # fmt: skip
    assert response.status_code == 201
    assert response.get_json()["thread_id"] is None


def test_the_case_form_works_without_script(app, client, c):
    response = client.post(
        "/help/cases",
        data={"subject": "VAT number still missing", "description": "None on the invoice.",
              "email": "pat@example.com", "query": "vat", "thread_id": str(c.vat.id)},
    )  # fmt: skip
    assert response.status_code == 302
    page = client.get(response.location)
    assert re.search(r"CASE-[A-Z0-9]{8}", page.get_data(as_text=True))
    invalid = client.post("/help/cases", data={"subject": "x", "description": ""})
    assert invalid.status_code == 422
    assert "At least 5 characters" in invalid.get_data(as_text=True)


# ---- the pages ------------------------------------------------------------------------------


def test_help_page_suggests_solved_threads_with_their_solution(client, c):
    page = client.get("/help?q=invoice+vat+number").get_data(as_text=True)
    assert "Invoice needs our VAT number" in page
    assert "Company details" in page  # the accepted answer, inline
    assert "This solved my problem" in page and "Still need help" in page
    assert "Android push" not in page
    fragment = client.get("/help/suggestions?q=notification+permission").get_data(as_text=True)
    assert "Android push notifications missing" in fragment  # found by its accepted answer
    assert "<html" not in fragment
    assert "Board-only" not in client.get("/help/suggestions?q=board+pricing").get_data(
        as_text=True
    )


def test_ask_the_community_prefills_the_question(client, c, login):
    response = client.get("/help/ask?space=billing&q=Where+is+my+VAT+number")
    assert response.status_code == 302
    assert "/s/billing/new?title=Where+is+my+VAT+number" in response.location
    assert client.get("/help/ask?space=board&q=x").status_code == 404


# ---- analytics ------------------------------------------------------------------------------


@pytest.fixture
def history(app, c):
    """Three days of the help flow in November 2026, through the services."""
    days = [datetime(2026, 11, 10, 9), datetime(2026, 11, 11, 9), datetime(2026, 11, 12, 9)]
    with app.test_request_context():
        member = db.session.get(Member, c.customer.id)
        insider = db.session.get(Member, c.insider.id)

        def deflect(thread, at, who="v1", by=None):
            result = help.confirm_solution(
                thread.id, "q", by=by, visitor_key=f"s:{who}", user_agent=BROWSER,
                scripted=True, at=at,
            )  # fmt: skip
            assert result.counted

        deflect(c.vat, days[0], "v1")
        deflect(c.vat, days[0], "v2")
        deflect(c.vat, days[1], "v1")
        deflect(c.push, days[1], by=member)
        deflect(c.secret, days[2], by=insider)
        deflect(c.vat, days[2] + timedelta(days=30), "v9")  # outside the period
        for at in (days[1], days[2]):
            help.open_case("Still broken", "x", "p@example.com", by=None, visitor_key="s:c",
                           at=at)  # fmt: skip
    return days


def analytics(client, headers, **params):
    return client.get("/api/v1/analytics/deflection", query_string=params, headers=headers)


def test_analytics_figures_are_exact(app, client, c, history, token_for):
    app.config["DEFLECTION_COST_PER_CASE"] = "12.50"
    app.config["CURRENCY"] = "EUR"
    response = analytics(client, token_for(c.agent), **{"from": "2026-11-10", "to": "2026-11-12"})
    assert response.status_code == 200
    data = response.get_json()
    assert data["from"] == "2026-11-10" and data["to"] == "2026-11-12"
    assert data["currency"] == "EUR"
    # The agent is no member of the private board: its deflection counts nowhere.
    assert (data["deflected"], data["escalated"]) == (4, 2)
    assert data["deflection_rate"] == round(4 / 6, 4)
    assert (data["cost_per_case"], data["savings"]) == (12.5, 50.0)
    assert [(s["slug"], s["deflected"], s["savings"]) for s in data["by_space"]] == [
        ("billing", 3, 37.5),
        ("mobile", 1, 12.5),
    ]
    assert [(t["id"], t["deflected"], t["space"]) for t in data["top_solutions"]] == [
        (c.vat.id, 3, "billing"),
        (c.push.id, 1, "mobile"),
    ]
    assert data["by_day"] == [
        {"date": "2026-11-10", "deflected": 2, "escalated": 0},
        {"date": "2026-11-11", "deflected": 2, "escalated": 1},
        {"date": "2026-11-12", "deflected": 0, "escalated": 1},
    ]
    admin = analytics(client, token_for(c.admin), **{"from": "2026-11-10", "to": "2026-11-12"})
    assert [s["slug"] for s in admin.get_json()["by_space"]] == ["billing", "mobile", "board"]
    assert admin.get_json()["deflected"] == 5


def test_analytics_default_to_the_last_30_days(client, c, token_for):
    data = analytics(client, token_for(c.agent)).get_json()
    today = date.today()
    assert data["to"] in (today.isoformat(), (today + timedelta(days=1)).isoformat())
    assert len(data["by_day"]) == 30
    assert (data["deflected"], data["escalated"], data["deflection_rate"]) == (0, 0, 0.0)
    assert (data["cost_per_case"], data["savings"]) == (15.0, 0.0)


def test_analytics_are_for_staff_only(client, c, token_for):
    assert analytics(client, {}).status_code == 401
    response = analytics(client, token_for(c.customer))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"to": "2026-13-01"},
        {"from": "2026-11-12", "to": "2026-11-10"},
        {"from": "1999-01-01", "to": "2026-01-01"},
        {"from": "0001-01-01"},
        {"to": "9999-12-31"},
    ],
)
def test_bad_periods_get_field_errors(client, c, token_for, params):
    response = analytics(client, token_for(c.agent), **params)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]


def test_staff_page_shows_the_figures_and_the_chart(app, client, c, history, login):
    login(c.agent)
    page = client.get("/analytics/deflection?from=2026-11-10&to=2026-11-12")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<dd id="stat-deflected">4</dd>' in html  # not the private board's
    assert '<dd id="stat-savings">60.00 USD</dd>' in html
    assert 'id="deflection-chart"' in html and "vendor/chart.umd.js" in html
    assert "&#34;deflected&#34;: [2, 2, 0]" in html
    assert "<script>" not in html  # the CSP allows no inline script
    junk = client.get("/analytics/deflection?from=junk&to=2026-13-40")
    assert junk.status_code == 200 and "must be a date" in junk.get_data(as_text=True)


def test_staff_page_is_not_found_for_customers(client, c, login):
    assert client.get("/analytics/deflection").status_code == 404
    login(c.customer)
    assert client.get("/analytics/deflection").status_code == 404


# ---- the demo ---------------------------------------------------------------------------------


def test_the_demo_shows_deflections_and_cases(app, runner):
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "deflected cases" in result.output
    with app.test_request_context():
        assert db.session.scalar(select(func.count(Deflection.id))) > 30
        # The help flow's two, and the one the CRM bridge's demo escalates from a thread.
        assert db.session.scalar(select(func.count(SupportCase.id))) == 3
        admin = services.find_member_by_email("admin@example.com")
        report = help.deflection_report(admin, *help.default_period())
        assert report.deflected > 30 and report.escalated == 3
        assert report.top_solutions and report.by_space
