"""The participation panel: active and new members, 90-9-1, levels and movements."""

from datetime import date

from sqlalchemy import select, update

from analytics import services
from analytics.models import EngagementSnapshot
from community.extensions import db


def test_the_90_9_1_profile_counts_only_what_the_viewer_sees(world, panel):
    data = panel("participation", world.agent).get_json()
    # Eight members joined by 11-12: admin, agent, asker, buyer, helper, insider, newbie.
    assert data["members"] == 7
    # Creators: asker, buyer (questions), helper (the discussion). Contributors: the
    # agent (a reply) and the newbie (kudos). The insider only replied in the private
    # board, which the agent may not see: a reader, for them.
    assert data["profile"] == {
        "readers": {"count": 2, "share": 0.2857},
        "contributors": {"count": 2, "share": 0.2857},
        "creators": {"count": 3, "share": 0.4286},
    }
    got = data["figures"]
    assert (got["active_members"], got["new_members"]) == (5, 1)
    admin = panel("participation", world.admin).get_json()
    assert admin["profile"]["contributors"]["count"] == 3
    assert admin["profile"]["readers"]["count"] == 1


def test_a_segment_counts_its_members_only(world, panel):
    got = panel("participation", world.agent, segment="smb").get_json()["figures"]
    assert (got["members"], got["creators"], got["contributors"], got["readers"]) == (1, 1, 0, 0)


def test_levels_and_movements_come_from_the_snapshots(app, world, panel, runner):
    result = runner.invoke(args=["analytics", "snapshot", "--day", "2026-11-09"])
    assert result.exit_code == 0, result.output
    assert "Recorded 7 member(s); planner statistics refreshed." in result.output
    with app.app_context():
        helper_level = db.session.scalar(
            select(EngagementSnapshot.level).where(
                EngagementSnapshot.member_id == world.helper.id,
                EngagementSnapshot.day == date(2026, 11, 9),
            )
        )
        assert helper_level != "aware"
        # Pretend the helper was only aware then.
        db.session.execute(
            update(EngagementSnapshot)
            .where(EngagementSnapshot.member_id == world.helper.id)
            .values(level="aware")
        )
        db.session.commit()
        assert services.take_snapshot(date(2026, 11, 12)) == 7
    data = panel("participation", world.agent, **{"from": "2026-11-10"}).get_json()
    assert data["snapshots"] == {"start": "2026-11-09", "end": "2026-11-12"}
    assert data["movements"] == [
        {"from": "aware", "to": helper_level, "members": 1, "direction": "up"}
    ]
    assert (data["figures"]["moved_up"], data["figures"]["moved_down"]) == (1, 0)
    assert sum(data["engagement"].values()) == 7
    assert data["engagement"][helper_level] >= 1
    levels = next(c for c in data["charts"] if c["id"] == "participation-levels")
    assert levels["datasets"][0]["data"] == [
        data["engagement"][k] for k in ("aware", "engaged", "committed", "advocate")
    ]


def test_bad_snapshot_day_is_refused(runner):
    result = runner.invoke(args=["analytics", "snapshot", "--day", "someday"])
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.output
