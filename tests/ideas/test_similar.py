"""Similar-idea suggestions put ideas still open to votes first."""

from ideas import services


def test_open_ideas_are_suggested_before_decided_ones(ctx, make_idea, make_area, make_member):
    area = make_area()
    pm = make_member("Pam Product", roles=["product_manager"])
    declined = make_idea(area, title="Export reports as spreadsheet files")
    open_one = make_idea(area, title="Export reports to a spreadsheet")
    services.change_status(declined, "declined", "Covered by the CSV export.", by=pm)
    found = services.similar_ideas(None, "export reports spreadsheet")
    assert [i.id for i in found] == [open_one.id, declined.id]
