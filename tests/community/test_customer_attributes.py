"""Customer value and segment on a member, set by an admin until the CRM fills them."""

from decimal import Decimal

from community.extensions import db
from community.models import Member


def test_admin_sets_customer_value_and_segment(app, client, login, admin, make_member):
    customer = make_member("Carmen Customer")
    login(admin)
    response = client.post(
        f"/admin/members/{customer.id}/customer",
        data={"customer_value": "125,000.50", "segment": "enterprise"},
    )
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.get(Member, customer.id)
        assert stored.customer_value == Decimal("125000.50")
        assert stored.segment == "enterprise"
    page = client.get("/admin/members").get_data(as_text=True)
    assert 'value="125000.50"' in page


def test_bad_customer_value_is_refused_and_changes_nothing(app, client, login, admin, make_member):
    customer = make_member("Nora Number")
    login(admin)
    for bad in ("lots", "-5", "1e400", "NaN"):
        response = client.post(
            f"/admin/members/{customer.id}/customer",
            data={"customer_value": bad, "segment": "smb"},
            follow_redirects=True,
        )
        assert response.status_code == 200
        assert "Must be" in response.get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(Member, customer.id)
        assert stored.customer_value is None and stored.segment is None


def test_only_admins_set_customer_data(client, login, make_member):
    customer = make_member("Otto Other")
    snoop = make_member("Sam Snoop", roles=["moderator"])
    login(snoop)
    response = client.post(
        f"/admin/members/{customer.id}/customer", data={"customer_value": "1", "segment": "x"}
    )
    assert response.status_code == 404
