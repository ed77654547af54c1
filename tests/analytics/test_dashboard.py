"""Who sees the dashboard, the settings admins keep, and CSV export."""

import csv
import io


def test_the_dashboard_is_not_found_for_members_and_visitors(client, world, login):
    assert client.get("/analytics").status_code == 404
    login(world.asker)
    assert client.get("/analytics").status_code == 404
    assert client.get("/analytics/settings").status_code == 404


def test_staff_get_the_page_with_every_panel(client, world, login):
    login(world.agent)
    page = client.get("/analytics")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("support", "participation", "deflection", "people", "ideas", "advisory",
                 "listening", "return"):  # fmt: skip
        if f'data-panel="{name}"' in html:
            assert f"/api/v1/analytics/{name}?format=csv" in html
    assert 'data-panel="support"' in html and 'data-panel="participation"' in html
    assert '<option value="enterprise">enterprise</option>' in html
    assert "<script>" not in html and "js/analytics.js" in html
    assert ">Analytics</a>" in html  # in the navigation
    assert client.get("/analytics/settings").status_code == 404  # admins only


def test_admins_choose_the_roles_that_see_it(client, world, login, panel):
    assert panel("support", world.agent).status_code == 200
    login(world.admin)
    page = client.get("/analytics/settings").get_data(as_text=True)
    assert 'checked id="roles-2" name="roles" type="checkbox" value="support_agent"' in page
    assert 'value="member"' not in page  # every member has it: not an audience
    saved = client.post("/analytics/settings", data={"roles": ["product_manager"]})
    assert saved.status_code == 302
    assert panel("support", world.agent).status_code == 403
    assert panel("support", world.admin).status_code == 200
    junk = client.post("/analytics/settings", data={"roles": ["emperor"]})
    assert junk.status_code == 200 and "not a valid choice" in junk.get_data(as_text=True)
    client.post("/logout")
    login(world.agent)
    assert client.get("/analytics").status_code == 404


def test_the_api_answers_401_and_403(client, world, panel):
    assert client.get("/api/v1/analytics/support").status_code == 401
    response = panel("support", world.asker)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_csv_round_trips_to_the_json_figures(world, panel):
    data = panel("support", world.agent).get_json()
    response = panel("support", world.agent, format="csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    figures = {r["key"]: r["value"] for r in rows if r["section"] == "figure"}
    for name, value in data["figures"].items():
        parsed = figures[f"figures.{name}"]
        assert (float(parsed) if parsed else None) == value, name
    by_space = [r for r in rows if r["section"] == "by_space" and r["field"] == "questions"]
    assert [int(r["value"]) for r in by_space] == [s["questions"] for s in data["by_space"]]
    chart = [r for r in rows if r["section"] == "chart:support-over-time"]
    deflected = [(r["key"], int(r["value"])) for r in chart if r["field"] == "Deflected"]
    assert deflected == [("2026-11-10", 1), ("2026-11-11", 1), ("2026-11-12", 0)]


def test_the_deflection_panel_keeps_its_shape(world, panel):
    data = panel("deflection", world.agent).get_json()
    assert (data["deflected"], data["escalated"], data["savings"]) == (2, 1, 30.0)
    assert [s["slug"] for s in data["by_space"]] == ["billing"]
    assert data["by_day"][1] == {"date": "2026-11-11", "deflected": 1, "escalated": 1}
    assert panel("deflection", world.admin).get_json()["deflected"] == 3


def test_every_panel_answers_for_staff_and_in_csv(world, panel):
    from analytics.panels import PANELS

    for name in PANELS:
        response = panel(name, world.agent)
        assert response.status_code == 200, (name, response.get_json())
        assert response.get_json()["panel"] == name
        assert panel(name, world.agent, format="csv").status_code == 200
