"""The ideas feed: new ideas with their status, under the spaces' access policy."""

from xml.etree import ElementTree

ATOM = "{http://www.w3.org/2005/Atom}"


def titles(response) -> list[str]:
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    root = ElementTree.fromstring(response.data)  # noqa: S314 - our own feed
    return [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]


def test_new_ideas_feed_shows_public_ideas_with_their_status(client, make_idea, board):
    make_idea(title="Dark mode for reports")
    found = titles(client.get("/ideas/feed.atom"))
    assert "Dark mode for reports [New]" in found
    assert not any("canary-4417" in title for title in found)
    assert 'href="/ideas/feed.atom"' in client.get("/ideas/").get_data(as_text=True)


def test_a_board_member_sees_the_private_boards_ideas(client, login, board):
    login(board.insider)
    assert any("canary-4417" in title for title in titles(client.get("/ideas/feed.atom")))
    login(board.outsider)
    assert not any("canary-4417" in title for title in titles(client.get("/ideas/feed.atom")))
