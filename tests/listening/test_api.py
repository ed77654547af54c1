"""The listening JSON API: shapes and permissions."""

import pytest

from community.extensions import db
from community.models import SpaceMembership


def test_alerts_name_what_they_are_about_with_the_customers_value(
    app, client, token_for, make_thread, make_member, agent
):
    buyer = make_member("Bea Buyer")
    with app.app_context():
        from community import services as community

        community.set_customer_attributes(
            db.session.get(type(buyer), buyer.id), 120000, "enterprise", by=None
        )
    thread = make_thread(author=buyer, title="Sync is broken",
                         body="Horrible, our data is gone. Useless and infuriating.")  # fmt: skip
    response = client.get("/api/v1/alerts", headers=token_for(agent))
    assert response.status_code == 200
    data = response.get_json()
    assert data["total"] == 1 and data["page"] == 1
    [alert] = data["items"]
    assert alert["kind"] == "at_risk"
    assert alert["about"]["type"] == "thread" and alert["about"]["id"] == thread.id
    assert alert["about"]["title"] == "Sync is broken"
    assert alert["about"]["url"].startswith("http://localhost/posts/")
    assert alert["url"].endswith(f"/listening/#alert-{alert['id']}")
    assert alert["sentiment"] < -0.5 and alert["terms"] == [] and alert["watchlist"] is None
    assert alert["member"]["id"] == buyer.id
    assert alert["member"]["customer_value"] == 120000.0
    assert alert["member"]["segment"] == "enterprise"
    assert alert["handled"] is None and alert["created_at"].endswith("Z")


def test_watchlists_are_created_owned_by_the_caller_and_listed(client, token_for, seller, agent):
    headers = token_for(seller)
    response = client.post(
        "/api/v1/watchlists",
        json={"name": "Buying intent", "terms": ["pricing", "Quote", "switch to"], "kind": "lead"},
        headers=headers,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["owner"]["id"] == seller.id
    assert body["terms"] == ["pricing", "Quote", "switch to"]
    assert body["kind"] == "lead" and body["id"] and body["url"]
    assert response.headers["Location"] == body["url"]
    listed = client.get("/api/v1/watchlists", headers=token_for(agent)).get_json()
    assert [w["name"] for w in listed["items"]] == ["Buying intent"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"name": "", "terms": ["price"], "kind": "lead"}, "name"),
        ({"name": "Leads", "terms": [], "kind": "lead"}, "terms"),
        ({"name": "Leads", "terms": "nope", "kind": "sideways"}, "kind"),
        ({"name": "Leads", "terms": ["?!"], "kind": "lead"}, "terms"),
        ({"name": "Leads", "terms": [5], "kind": "lead"}, "terms"),
        ({"name": "Leads", "terms": ["x" * 61], "kind": "churn"}, "terms"),
        ({"name": "Leads", "terms": [f"word{n}" for n in range(51)], "kind": "churn"}, "terms"),
    ],
)
def test_bad_watchlists_are_refused_with_the_field_and_nothing_is_saved(
    client, token_for, seller, payload, field
):
    headers = token_for(seller)
    response = client.post("/api/v1/watchlists", json=payload, headers=headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert client.get("/api/v1/watchlists", headers=headers).get_json()["total"] == 0


def test_duplicate_terms_are_kept_once(client, token_for, seller):
    response = client.post(
        "/api/v1/watchlists",
        json={"name": "Leads", "terms": ["price", "Prices", " pricing ", "quote"], "kind": "lead"},
        headers=token_for(seller),
    )
    assert response.get_json()["terms"] == ["price", "quote"]


def test_only_support_and_sales_use_the_listening_api(client, token_for, make_member, customer):
    pm = make_member("Pia Product", roles=["product_manager"])
    for who in (customer, pm):
        headers = token_for(who)
        assert client.get("/api/v1/alerts", headers=headers).status_code == 403
        refused = client.post(
            "/api/v1/watchlists",
            json={"name": "Leads", "terms": ["price"], "kind": "lead"},
            headers=headers,
        )
        assert refused.status_code == 403
        assert refused.get_json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/alerts").status_code == 401
    assert client.post("/api/v1/watchlists", json={}).status_code == 401


def test_alert_filters_are_checked(client, token_for, agent):
    headers = token_for(agent)
    assert client.get("/api/v1/alerts?kind=lead&state=all", headers=headers).status_code == 200
    for query in ("kind=angry", "state=closed", "page=0", "per_page=x"):
        response = client.get(f"/api/v1/alerts?{query}", headers=headers)
        assert response.status_code == 422, query


def test_private_space_alerts_are_left_out_of_the_api(
    app, client, token_for, make_space, make_thread, make_member, agent
):
    insider = make_member("Ines Insider")
    space = make_space("advisory", visibility="private", kind="advisory")
    with app.app_context():
        db.session.add(SpaceMembership(space_id=space.id, member_id=insider.id))
        db.session.commit()
    make_thread(space, insider, title="Awful roadmap", body="Horrible, terrible, useless.")
    assert client.get("/api/v1/alerts?state=all", headers=token_for(agent)).get_json()["total"] == 0
    admin = make_member("Ann Admin", roles=["admin"])
    assert client.get("/api/v1/alerts", headers=token_for(admin)).get_json()["total"] == 1


def test_the_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/alerts"]) == {"get"}
    assert set(paths["/api/v1/watchlists"]) == {"get", "post"}
