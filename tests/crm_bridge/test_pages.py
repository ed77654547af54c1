"""The built-in CRM's pages and JSON API: staff only, CSV import with a preview,
the customer 360, the admins' sync page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community import services as community
from community.extensions import db
from community.models import Member
from crm_bridge import outbox, services
from crm_bridge.models import Contact, OutboxItem

from .conftest import drain

CSV = (
    "email,name,account,segment,customer_value,renewal_on,plan\n"
    "ana@acme.example,Ana,Acme,enterprise,120000,2027-03-31,Business\n"
    "not-an-email,Bad,Acme,smb,10,2027-01-01,Free\n"
    "bo@globex.example,Bo,Globex,smb,abc,2027-01-01,Free\n"
    "cy@globex.example,Cy,Globex,smb,4000,2027-13-01,Free\n"
    "dee@initech.example,Dee,Initech,mid-market,30000,,Pro\n"
)


def contacts(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Contact))


def test_customers_are_for_staff_only(app, client, login, make_member, admin):
    login(make_member())
    assert client.get("/crm/contacts").status_code == 404
    assert client.get("/api/v1/crm/status").status_code == 404
    agent = make_member(roles=["support_agent"])
    client.post("/logout")
    login(agent)
    assert client.get("/crm/contacts").status_code == 200
    assert client.get("/crm/admin").status_code == 404  # sync is for admins
    assert client.get("/api/v1/crm/status").status_code == 404


def test_csv_import_previews_row_errors_and_writes_only_when_confirmed(
    app, client, login, admin, make_member
):
    dee = make_member("Dee", email="dee@initech.example")
    login(admin)
    page = client.post("/crm/import", data={"text": CSV})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2 row(s) ready" in html and "3 row(s) with errors" in html
    assert "customer_value: Must be an amount" in html
    assert "renewal_on: Must be a date" in html
    assert contacts(app) == 0  # nothing written by the preview
    done = client.post("/crm/import", data={"text": CSV, "confirm": "yes"})
    assert done.status_code == 302
    assert contacts(app) == 2
    with app.app_context():
        member = db.session.get(Member, dee.id)
        assert services.link_of(member) is not None
        assert (member.segment, member.account_name) == ("mid-market", "Initech")
        assert member.customer_fields == {"plan": "Pro"}


def test_a_file_without_an_email_column_is_refused(app, client, login, admin):
    login(admin)
    html = client.post("/crm/import", data={"text": "name\nAna\n"}).get_data(as_text=True)
    assert "including email" in html
    assert contacts(app) == 0


def test_the_customer_360_shows_what_the_community_knows(
    app, client, login, admin, make_member, make_thread, make_reply
):
    customer = make_member("Quinn Customer", email="quinn@acme.example")
    with app.test_request_context():
        boss = db.session.get(Member, admin.id)
        contact = services.save_contact(
            {
                "email": "quinn@acme.example",
                "name": "Quinn",
                "account": "Acme",
                "segment": "enterprise",
                "customer_value": "99000",
            },
            by=boss,
        )
        contact_id = contact.id
    thread = make_thread(author=customer, title="Export to CSV is slow")
    reply = make_reply(thread)
    with app.test_request_context():
        community.give_kudos(
            db.session.get(type(reply), reply.id), db.session.get(Member, customer.id)
        )
    drain(app)
    login(admin)
    html = client.get(f"/crm/contacts/{contact_id}").get_data(as_text=True)
    assert "Quinn" in html and "Acme" in html
    assert "1 thread(s) started" in html
    assert "Export to CSV is slow" in html  # on the timeline, from the built-in CRM
    data = client.get(f"/api/v1/customers/{contact_id}").get_json()
    assert data["member"]["id"] == customer.id
    assert data["activity"]["threads"] == 1
    assert data["engagement_level"] == "engaged"  # reputation's levels: posted, gave kudos
    assert data["customer_value"] == "99000.00"
    assert any(t["type"] == "question_asked" for t in data["timeline"])
    assert client.get("/api/v1/customers/999999").status_code == 404


def test_admins_see_backlog_dead_letters_and_the_lag_chart(
    app, client, login, admin, make_member, make_thread
):
    member = make_member()
    make_thread(author=member)
    with app.test_request_context():
        outbox.enqueue("nonsense", {"x": 1}, member=db.session.get(Member, member.id))
        db.session.commit()
    drain(app)
    login(admin)
    html = client.get("/crm/admin").get_data(as_text=True)
    assert 'id="lag-chart"' in html and "js/crm_bridge.js" in html
    assert "unknown kind" in html
    status = client.get("/api/v1/crm/status").get_json()
    assert status["dead"] >= 1 and status["backlog"] == 0
    assert status["connectors"] == ["builtin"]
    assert any(point["count"] for point in status["lag"])
    replay = client.post("/crm/admin/replay", data={})
    assert replay.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxItem.status == "dead")) == 0


@pytest.mark.parametrize("url", ["/crm/contacts/new", "/crm/import", "/crm/admin"])
def test_admin_pages_answer_admins(client, login, admin, url):
    login(admin)
    assert client.get(url).status_code == 200


def test_admins_create_and_edit_contacts(app, client, login, admin):
    login(admin)
    bad = client.post("/crm/contacts/new", data={"email": "nope", "customer_value": "x"})
    assert bad.status_code == 422
    assert contacts(app) == 0
    made = client.post(
        "/crm/contacts/new",
        data={"email": "new@acme.example", "name": "New", "account": "Acme", "customer_value": "5"},
    )
    assert made.status_code == 302
    with app.app_context():
        contact = db.session.scalar(select(Contact))
        assert contact.account.name == "Acme"
    edit = client.post(
        f"/crm/contacts/{contact.id}/edit", data={"email": "new@acme.example", "tier": "Gold"}
    )
    assert edit.status_code == 302
    assert "Gold" in client.get("/crm/contacts").get_data(as_text=True)
