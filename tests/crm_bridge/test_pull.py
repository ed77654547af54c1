"""Pulled customer facts and case statuses from any connector reach members and
cases; a connector's id for a contact is remembered."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from community import events, help
from community.extensions import db
from community.models import Member, SupportCase
from crm_bridge import outbox, services
from crm_bridge.connectors.base import CaseStatus, Connector, ContactAttributes, Pulled
from crm_bridge.models import Case, Contact

from .conftest import drain


class FakeCRM(Connector):
    name = "salesforce"

    def __init__(self, pulled):
        self.pulled, self.asked = pulled, None

    @classmethod
    def from_config(cls, config):
        raise AssertionError("built by the test")

    def deliver(self, deliveries):
        raise AssertionError("not delivering here")

    def pull(self, case_references=()):
        self.asked = list(case_references)
        return self.pulled


def test_pulled_attributes_and_case_statuses_reach_members_and_threads(
    app, admin, make_member, make_thread
):
    member = make_member(email="ana@acme.example")
    thread = make_thread()
    with app.test_request_context():
        boss = db.session.get(Member, admin.id)
        contact = services.save_contact({"email": "ana@acme.example"}, by=boss)
        contact.external_ids = {"salesforce": "003XYZ"}

        case = help.open_case(
            "Cannot export invoices", "It fails.", by=db.session.get(Member, member.id),
            visitor_key="m:x", thread_id=thread.id,
        )  # fmt: skip
        db.session.add(Case(reference=case.reference, connector="salesforce", external_id="500A"))
        db.session.commit()
        fake = FakeCRM(
            Pulled(
                contacts=[
                    ContactAttributes(
                        email=None,
                        external_id="003XYZ",
                        segment="enterprise",
                        tier="Gold",
                        customer_value=Decimal("88000"),
                        account_name="Acme",
                        fields={"csm": "Dana"},
                    ),
                    ContactAttributes(email="stranger@nowhere.example", segment="smb"),
                ],
                cases=[CaseStatus(case.reference, "closed", "Replaced the export worker.")],
            )
        )
        app.config["CRM"] = "salesforce"
        deliverer = outbox.Deliverer("test")
        deliverer.connectors["salesforce"] = fake
        assert services.pull(deliverer) == {"salesforce": (1, 1)}
        assert fake.asked == [case.reference]
        m = db.session.get(Member, member.id)
        assert (m.segment, m.tier, m.account_name) == ("enterprise", "Gold", "Acme")
        assert m.customer_value == Decimal("88000.00") and m.customer_fields == {"csm": "Dana"}
        assert db.session.scalar(select(SupportCase.status)) == "closed"
        row = db.session.scalar(select(Case).where(Case.connector == "salesforce"))
        assert row.resolution == "Replaced the export worker."


def test_a_crms_id_for_the_contact_is_remembered(webhook_app, receiver, admin, make_member):
    app = webhook_app
    member = make_member(email="bo@globex.example")
    with app.test_request_context():
        services.save_contact({"email": "bo@globex.example"}, by=db.session.get(Member, admin.id))
        sent = events.record(
            events.reputation_changed, db.session.get(Member, member.id), points=5, rank="New",
            delta=5,
        )  # fmt: skip
        db.session.commit()
        sent()
    drain(app)
    with app.app_context():
        contact = db.session.scalar(select(Contact))
        assert contact.external_ids["webhook"].startswith("crm-")
