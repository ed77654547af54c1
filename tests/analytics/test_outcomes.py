"""People, ideas, advisory, listening and return: exact figures for a known month.

Rows other domains would write through their own event handlers (sentiment
scores, alerts, CRM outbox rows) are inserted as they would stand, with the
times the scenario needs; everything else goes through the services."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, update

from advisory.models import Committee
from analytics.models import EngagementSnapshot
from community import services
from community.extensions import db
from community.models import Member, Post, Thread
from crm_bridge.models import OutboxItem
from ideas import services as ideas
from ideas.models import Area, Idea, StatusChange
from moderation.listening.models import Alert, Sentiment

OCTOBER = {"from": "2026-10-01", "to": "2026-10-10"}


def oct_(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 10, day, hour)


def get(model, obj):
    return db.session.get(model, obj.id)


# ---- people ----------------------------------------------------------------------------------


@pytest.fixture
def quiet_insider(app, world):
    """The insider answered twice in public early in October, then only in the board."""
    with app.test_request_context():
        old = db.session.get(Thread, world.ids.q0)
        insider = get(Member, world.insider)
        for _ in range(2):
            post = services.reply(old, insider, "Still on it.")
            db.session.execute(update(Post).where(Post.id == post.id).values(created_at=oct_(1)))
        for member, value in ((world.asker, 1000), (world.buyer, 500), (world.newbie, 200),
                              (world.insider, 300)):  # fmt: skip
            db.session.execute(
                update(Member).where(Member.id == member.id).values(customer_value=value)
            )
        db.session.commit()


def test_people_top_at_risk_and_not_engaged(world, quiet_insider, panel):
    data = panel("people", world.agent).get_json()
    # Helper: accepted answer 10 + kudos 1 + two deflections x 15 = 41.
    # Insider: accepted answer (in the board) 10 + one deflection x 15 = 25.
    assert [(p["name"], p["social_value"]) for p in data["top"]] == [
        ("Hal Helper", 41.0),
        ("Ivy Insider", 25.0),
    ]
    assert data["top"][0]["accepted_answers"] == 1 and data["top"][0]["kudos_received"] == 1
    # Two public posts before the last 30 days, none the agent can see since.
    assert [(r["name"], r["posts_before"], r["posts_recent"]) for r in data["at_risk"]] == [
        ("Ivy Insider", 2, 0)
    ]
    # Everyone with a customer value did something visible in the period but the insider.
    assert [(r["name"], r["customer_value"]) for r in data["not_engaged"]] == [
        ("Ivy Insider", 300.0)
    ]
    assert data["figures"] == {
        "top_social_value": 41.0,
        "super_users_at_risk": 1,
        "customers_not_engaged": 1,
        "value_not_engaged": 300.0,
    }
    admin = panel("people", world.admin).get_json()
    # The admin sees the insider's board answer: active, and not falling below half.
    assert admin["at_risk"] == [] and admin["not_engaged"] == []


# ---- ideas -----------------------------------------------------------------------------------


@pytest.fixture
def idea_history(app, world, make_space):
    with app.test_request_context():
        admin = get(Member, world.admin)
        a, b, h, i = (get(Member, m) for m in (world.asker, world.buyer, world.helper,
                                                world.insider))  # fmt: skip
        db.session.execute(update(Member).where(Member.id == a.id).values(customer_value=1000))
        db.session.execute(update(Member).where(Member.id == b.id).values(customer_value=500))
        db.session.commit()
        public = ideas.create_area(admin, name="Billing ideas", slug="billing-ideas",
                                   space=get(type(world.billing), world.billing))  # fmt: skip
        private = ideas.create_area(admin, name="Board ideas", slug="board-ideas",
                                    space=get(type(world.board), world.board))  # fmt: skip

        def submit(author, area, title, day):
            idea = ideas.submit_idea(author, area, title, "It would help.")
            db.session.execute(update(Idea).where(Idea.id == idea.id).values(created_at=oct_(day)))
            db.session.commit()
            return idea

        def move(idea, status, note, day):
            change = ideas.change_status(db.session.get(Idea, idea.id), status, note, admin)
            db.session.execute(
                update(StatusChange)
                .where(StatusChange.id == change.id)
                .values(created_at=oct_(day))
            )
            db.session.commit()

        i1 = submit(a, public, "Invoices in euros", 1)
        i2 = submit(b, public, "Dark invoices", 2)
        i3 = submit(h, public, "Bulk refunds", 3)
        i4 = submit(i, private, "Secret roadmap", 2)
        ideas.vote(db.session.get(Idea, i1.id), b)
        move(i1, "under_review", "Looking into it.", 3)
        move(i1, "planned", "", 5)
        move(i1, "delivered", "Shipped.", 9)
        move(i2, "declined", "Not for now.", 4)
        move(i3, "under_review", "", 6)
        move(i4, "under_review", "", 3)
        return {"i1": i1.id, "i2": i2.id, "i3": i3.id, "i4": i4.id}


def test_ideas_funnel_times_notes_and_demand(world, idea_history, panel):
    data = panel("ideas", world.agent, **OCTOBER).get_json()
    assert data["funnel"] == [
        {"status": "new", "ideas": 3},
        {"status": "under_review", "ideas": 2},
        {"status": "planned", "ideas": 1},
        {"status": "in_progress", "ideas": 1},  # delivered passed through it
        {"status": "delivered", "ideas": 1},
    ]
    assert data["time_in_status"] == [
        {"status": "new", "changes": 3, "median_hours": 48.0, "p90_hours": 72.0},
        {"status": "under_review", "changes": 1, "median_hours": 48.0, "p90_hours": 48.0},
        {"status": "planned", "changes": 1, "median_hours": 96.0, "p90_hours": 96.0},
    ]
    got = data["figures"]
    assert (got["submitted"], got["declined"], got["ideas_changed"]) == (3, 1, 3)
    assert (got["changed_with_note"], got["note_share"]) == (2, 0.6667)
    top = [
        (t["segment"], t["rank"], t["title"], t["votes"], t["value"]) for t in data["top_demand"]
    ]
    assert ("enterprise", 1, "Invoices in euros", 1, 1000.0) in top
    assert [t for t in top if t[0] == "smb"] == [
        ("smb", 1, "Invoices in euros", 1, 500.0),
        ("smb", 2, "Dark invoices", 1, 500.0),
    ]
    assert "Secret roadmap" not in {t[2] for t in top}
    smb = panel("ideas", world.agent, segment="smb", **OCTOBER).get_json()
    assert {t["segment"] for t in smb["top_demand"]} == {"smb"}
    assert smb["figures"]["submitted"] == 1  # the buyer's own idea
    admin = panel("ideas", world.admin, **OCTOBER).get_json()
    assert admin["funnel"][0] == {"status": "new", "ideas": 4}
    assert admin["time_in_status"][0] == {
        "status": "new", "changes": 4, "median_hours": 48.0, "p90_hours": 72.0,
    }  # fmt: skip


# ---- advisory --------------------------------------------------------------------------------


@pytest.fixture
def committee(app, world, make_space):
    space = make_space("council", kind="advisory", visibility="private")
    with app.test_request_context():
        admin = get(Member, world.admin)
        insider = get(Member, world.insider)
        council = get(type(space), space)
        services.add_space_member(council, insider, admin)
        row = db.session.query(Committee).filter_by(space_id=space.id).one()
        area = db.session.get(Area, row.area_id)
        made = []
        for day in (1, 2, 5):
            idea = ideas.submit_idea(insider, area, f"Suggestion {day}", "Please.")
            db.session.execute(update(Idea).where(Idea.id == idea.id).values(created_at=oct_(day)))
            made.append(idea.id)
        db.session.commit()
        for idea_id, day in ((made[0], 3), (made[2], 6)):
            change = ideas.change_status(db.session.get(Idea, idea_id), "planned", "Yes.", admin)
            db.session.execute(
                update(StatusChange)
                .where(StatusChange.id == change.id)
                .values(created_at=oct_(day))
            )
        db.session.commit()
    return space


def test_advisory_acted_upon_waiting_and_response_time(world, committee, panel):
    data = panel("advisory", world.admin, **OCTOBER).get_json()
    assert data["figures"] == {
        "suggestions": 3,
        "acted_upon": 2,
        "waiting": 1,
        "overdue": 1,  # older than the 30-day response commitment
        "acted_share": 0.6667,
        "median_response_hours": 24.0,
        "p90_response_hours": 48.0,
    }
    assert [(c["name"], c["suggestions"], c["waiting"]) for c in data["committees"]] == [
        ("Council", 3, 1)
    ]
    # The committee is private: a staff member outside it sees nothing of it.
    hidden = panel("advisory", world.agent, **OCTOBER).get_json()
    assert hidden["committees"] == [] and hidden["figures"]["suggestions"] == 0


# ---- listening -------------------------------------------------------------------------------


@pytest.fixture
def heard(app, world):
    with app.test_request_context():
        rows = [  # (space, member, compound, day)
            (world.billing, world.asker, -0.8, 1),
            (world.billing, world.buyer, 0.4, 1),
            (world.billing, world.asker, 0.2, 2),
            (world.board, world.asker, -0.9, 2),
        ]
        for n, (space, member, compound, day) in enumerate(rows, 1):
            db.session.add(Sentiment(target_type="post", target_id=10_000 + n, member_id=member.id,
                                     space_id=space.id, compound=compound,
                                     created_at=oct_(day)))  # fmt: skip
        alerts = [  # (kind, space, member, day, handled after hours)
            ("at_risk", world.billing, world.asker, 1, 2),
            ("at_risk", world.billing, world.asker, 2, 6),
            ("at_risk", world.billing, world.buyer, 3, None),
            ("at_risk", world.board, world.asker, 2, 1),
            ("lead", world.billing, world.buyer, 2, None),
            ("churn", world.billing, world.asker, 4, None),
        ]
        for n, (kind, space, member, day, hours) in enumerate(alerts, 1):
            db.session.add(Alert(
                key=f"test:{n}", kind=kind, target_type="post", space_id=space.id,
                member_id=member.id, created_at=oct_(day),
                handled_at=oct_(day) + timedelta(hours=hours) if hours else None,
            ))  # fmt: skip
        db.session.commit()


def test_listening_sentiment_alerts_and_leads(world, heard, panel):
    data = panel("listening", world.agent, **OCTOBER).get_json()
    assert data["figures"] == {
        "posts_scored": 3,
        "average_sentiment": round((-0.8 + 0.4 + 0.2) / 3, 3),
        "negative_posts": 1,
        "at_risk": 3,
        "at_risk_handled": 2,
        "at_risk_handled_share": 0.6667,
        "handling_median_hours": 2.0,
        "handling_p90_hours": 6.0,
        "leads": 1,
        "churn_signals": 1,
    }
    sentiment = next(c for c in data["charts"] if c["id"] == "listening-sentiment")
    assert sentiment["datasets"][0]["data"][:3] == [-0.2, 0.2, None]
    admin = panel("listening", world.admin, **OCTOBER).get_json()["figures"]
    assert (admin["posts_scored"], admin["negative_posts"], admin["at_risk"]) == (4, 2, 4)
    assert admin["handling_median_hours"] == 2.0
    smb = panel("listening", world.agent, segment="smb", **OCTOBER).get_json()["figures"]
    assert (smb["posts_scored"], smb["at_risk"], smb["leads"]) == (1, 1, 1)


# ---- return ----------------------------------------------------------------------------------


@pytest.fixture
def returns(app, world):
    with app.test_request_context():
        db.session.execute(delete(EngagementSnapshot))
        for day, values in ((date(2026, 11, 9), (60, 40)), (date(2026, 11, 12), (80, 50))):
            for member, value in zip((world.helper, world.insider), values, strict=True):
                db.session.add(EngagementSnapshot(day=day, member_id=member.id, level="engaged",
                                                  social_value=Decimal(value)))  # fmt: skip
        for n, (kind, member, day) in enumerate(
            [("contact", world.asker, 10), ("activity", world.asker, 11),
             ("activity", world.buyer, 12), ("case", world.buyer, 11),
             ("contact", world.helper, 14)], 1,
        ):  # fmt: skip
            db.session.add(OutboxItem(
                event_id=f"e{n}", connector="builtin", kind=kind, contact_key=f"m:{member.id}",
                member_id=member.id, created_at=datetime(2026, 11, day, 9),
            ))  # fmt: skip
        for n, space in enumerate((world.billing, world.board), 1):
            db.session.add(Alert(key=f"lead:{n}", kind="lead", target_type="post",
                                 space_id=space.id, member_id=world.buyer.id,
                                 created_at=datetime(2026, 11, 11, 9)))  # fmt: skip
        db.session.commit()


def test_return_on_customer(world, returns, panel):
    data = panel("return", world.agent).get_json()
    assert data["figures"] == {
        "savings": 30.0,
        "cases_deflected": 2,
        "cases_escalated": 1,
        "leads_created": 1,  # the board's lead is not the agent's to see
        "contacts_enriched": 2,  # asker and buyer; the helper's update came later
        "social_value_at_start": 100.0,
        "social_value_at_end": 130.0,
        "social_value_change": 30.0,
        # (30 savings + 30 more social value) / 100 at the start
        "return_on_customer": 0.6,
    }
    assert data["snapshots"] == {"start": "2026-11-09", "end": "2026-11-12"}
    admin = panel("return", world.admin).get_json()["figures"]
    assert (admin["savings"], admin["leads_created"]) == (45.0, 2)
    assert admin["return_on_customer"] == 0.75


def test_return_without_snapshots_has_no_ratio(world, panel):
    got = panel("return", world.agent).get_json()["figures"]
    assert got["social_value_at_start"] is None and got["return_on_customer"] is None
    assert got["savings"] == 30.0


def test_people_read_the_snapshot_once_there_is_one(app, world, panel):
    from analytics import services as analytics

    with app.app_context():
        assert analytics.take_snapshot(date(2026, 11, 12)) == 7
        db.session.execute(
            update(EngagementSnapshot)
            .where(EngagementSnapshot.member_id == world.insider.id)
            .values(social_value=Decimal("99.50"))
        )
        db.session.commit()
    top = panel("people", world.agent).get_json()["top"]
    # The ranking and the figures as of the period's end, not as computed now.
    assert [(p["name"], p["social_value"], p["accepted_answers"]) for p in top] == [
        ("Ivy Insider", 99.5, 1),
        ("Hal Helper", 41.0, 1),
    ]
    assert top[1]["deflections"] == 2 and top[1]["kudos_received"] == 1
