"""The support panel: exact figures for a known month, what a viewer may see."""

import pytest


def figures(response):
    assert response.status_code == 200, response.get_json()
    return response.get_json()["figures"]


def test_support_figures_for_a_staff_member_without_the_private_board(world, panel):
    data = panel("support", world.agent).get_json()
    assert (data["panel"], data["from"], data["to"], data["segment"]) == (
        "support", "2026-11-10", "2026-11-12", None,
    )  # fmt: skip
    assert data["figures"] == {
        "questions": 3,  # q1, q2, q3: not q0 (before), q4 (private), the discussion
        "answered": 2,
        "solved": 1,
        "answered_share": 0.6667,
        "solved_share": 0.3333,
        "answered_by_peers": 1,  # the helper
        "answered_by_staff": 1,  # the support agent
        "peer_share": 0.5,
        "deflected": 2,  # both on q1; the board's is not the agent's to see
        "escalated": 1,
        "deflection_rate": 0.6667,
        "cost_per_case": 15.0,
        "savings": 30.0,
        "first_reply_median_hours": 2.0,
        "first_reply_p90_hours": 4.0,
        "accepted_answer_median_hours": 2.0,
        "accepted_answer_p90_hours": 2.0,
    }
    assert [(s["slug"], s["questions"], s["answered"], s["solved"], s["deflected"])
            for s in data["by_space"]] == [("billing", 3, 2, 1, 2)]  # fmt: skip
    over_time = next(c for c in data["charts"] if c["id"] == "support-over-time")
    assert over_time["labels"] == ["2026-11-10", "2026-11-11", "2026-11-12"]
    series = {d["label"]: d["data"] for d in over_time["datasets"]}
    assert series == {"Questions": [1, 1, 1], "Deflected": [1, 1, 0], "Escalated": [0, 1, 0]}


def test_admins_see_the_private_board_too(world, panel):
    data = panel("support", world.admin).get_json()
    got = data["figures"]
    assert (got["questions"], got["answered"], got["solved"], got["deflected"]) == (4, 3, 2, 3)
    assert (got["first_reply_median_hours"], got["first_reply_p90_hours"]) == (2.0, 4.0)
    assert (got["accepted_answer_median_hours"], got["accepted_answer_p90_hours"]) == (1.0, 2.0)
    assert [s["slug"] for s in data["by_space"]] == ["billing", "board"]


def test_a_segment_narrows_to_its_members(world, panel):
    got = figures(panel("support", world.agent, segment="enterprise"))
    # The enterprise asker's q1 and q3; deflections and the case came from others.
    assert (got["questions"], got["answered"], got["deflected"], got["escalated"]) == (2, 1, 0, 0)
    got = figures(panel("support", world.agent, segment="smb"))
    assert (got["questions"], got["answered_by_staff"], got["deflected"], got["escalated"]) == (
        1, 1, 1, 1,
    )  # fmt: skip


def test_an_empty_period_has_no_times(world, panel):
    got = figures(panel("support", world.agent, **{"from": "2026-10-01", "to": "2026-10-02"}))
    assert got["questions"] == 0 and got["first_reply_median_hours"] is None
    assert got["answered_share"] == 0.0


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2026-11-12", "to": "2026-11-10"}, "to"),
        ({"from": "1999-01-01", "to": "2026-01-01"}, "from"),
        ({"segment": "martians"}, "segment"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_input_gets_a_field_error(world, panel, params, field):
    response = panel("support", world.agent, **params)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_an_unknown_panel_is_not_found(world, panel):
    response = panel("weather", world.agent)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
