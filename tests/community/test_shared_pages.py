"""Pages members share (community/shared_pages.py): rendered once per audience, with
each member's own parts filled in, and never shown to anyone who sees otherwise."""

from __future__ import annotations

import re

import pytest

from community import services
from community.extensions import db
from community.models import Member, Post, SpaceMembership
from tests.community.test_cache import sign_in, thread_views

pytestmark = pytest.mark.page_cache


def csrf_of(page) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)))


def footer_of(html: str, post_id: int) -> str:
    article = html.split(f'id="post-{post_id}"', 1)[1].split("</article>", 1)[0]
    return article.split('class="post-actions"', 1)[1]


def test_two_members_share_a_thread_page_each_with_their_own_parts(
    app, make_member, make_thread, make_reply
):
    asker = make_member("Asha Asker")
    thread = make_thread(author=asker, title="Export fails at 99%")
    answer = make_reply(thread, body="Clear the cache first.")
    ben, cleo = make_member("Ben Reader"), make_member("Cleo Reader")
    with app.test_request_context():
        services.give_kudos(db.session.get(Post, answer.id), db.session.get(Member, ben.id))
        services.follow_thread(thread, db.session.get(Member, ben.id))

    ben_browser, cleo_browser, asha_browser = (
        sign_in(app, ben),
        sign_in(app, cleo),
        sign_in(app, asker),
    )
    first = ben_browser.get(f"/t/{thread.id}")
    assert "X-Parley-Cache" not in first.headers  # rendered for Ben, kept for his audience
    second = cleo_browser.get(f"/t/{thread.id}")
    assert second.headers["X-Parley-Cache"] == "shared"
    ben_html, cleo_html = first.get_data(as_text=True), second.get_data(as_text=True)

    # The top bar and the tokens are each member's own.
    assert "Ben Reader" in ben_html and "Cleo Reader" not in ben_html
    assert "Cleo Reader" in cleo_html and "Ben Reader" not in cleo_html
    assert f'data-member-id="{ben.id}"' in ben_html and f'data-member-id="{cleo.id}"' in cleo_html
    assert csrf_of(first) and csrf_of(second) and not csrf_of(first) & csrf_of(second)
    assert "<!--personal:" not in ben_html + cleo_html

    # Ben gave kudos and follows; Cleo did neither.
    assert 'class="kudos given"' in footer_of(ben_html, answer.id)
    assert 'class="kudos given"' not in footer_of(cleo_html, answer.id)
    assert "Following ✓" in ben_html and "Following ✓" not in cleo_html

    # The asker shares the page too: she may accept, not flag her own question.
    asha = asha_browser.get(f"/t/{thread.id}")
    assert asha.headers["X-Parley-Cache"] == "shared"
    asha_html = asha.get_data(as_text=True)
    assert "Accept as solution" in footer_of(asha_html, answer.id)
    assert "Accept as solution" not in footer_of(cleo_html, answer.id)
    opening_id = int(re.search(r'id="post-(\d+)"', asha_html)[1])  # the question comes first
    assert ">Edit<" in footer_of(asha_html, opening_id)
    assert ">Edit<" not in footer_of(cleo_html, opening_id)
    assert "Flag" not in footer_of(asha_html, opening_id)
    assert "Flag" in footer_of(cleo_html, opening_id)
    assert 'class="kudos static"' in footer_of(asha_html, opening_id)  # no kudos to oneself


def test_a_shared_copy_is_not_served_after_a_change_nor_to_another_audience(
    app, make_member, make_thread, make_reply, make_space
):
    board = make_space("board", visibility="private")
    public = make_thread(title="How do I reset my password?")
    insider, outsider, other = make_member("In Sider"), make_member("Out Sider"), make_member()
    with app.app_context():
        db.session.add(SpaceMembership(space_id=board.id, member_id=insider.id, role="member"))
        db.session.commit()
    secret = make_thread(space=board, author=insider, title="Pricing for next year")

    insider_home = sign_in(app, insider).get("/")
    assert "Pricing for next year" in insider_home.get_data(as_text=True)
    outsider_browser = sign_in(app, outsider)
    outsider_home = outsider_browser.get("/")
    assert "X-Parley-Cache" not in outsider_home.headers  # another audience: its own render
    assert "Pricing for next year" not in outsider_home.get_data(as_text=True)
    assert sign_in(app, other).get("/").headers["X-Parley-Cache"] == "shared"
    assert outsider_browser.get(f"/t/{secret.id}").status_code == 404

    # A new reply is a domain event: the next member sees it, freshly rendered.
    outsider_browser.get(f"/t/{public.id}")
    make_reply(public, body="Use the link on the sign-in page.")
    again = outsider_browser.get(f"/t/{public.id}")
    assert "X-Parley-Cache" not in again.headers
    assert "Use the link on the sign-in page." in again.get_data(as_text=True)


def test_moderators_share_among_themselves_only(app, make_member, make_thread):
    thread = make_thread(title="Spam here?")
    moderator = make_member("Mo Derator", roles=["moderator"])
    reader = make_member("Reader")
    sign_in(app, moderator).get(f"/t/{thread.id}")
    page = sign_in(app, reader).get(f"/t/{thread.id}")
    assert "X-Parley-Cache" not in page.headers
    assert "Moderate" not in page.get_data(as_text=True)


def test_a_member_with_a_hidden_post_of_their_own_never_shares(
    app, make_member, make_thread, make_reply
):
    thread = make_thread(title="Billing question")
    writer, reader = make_member("Wri Ter"), make_member("Rea Der")
    held = make_reply(thread, author=writer, body="My hidden words")
    with app.test_request_context():
        services.hide_post(db.session.get(Post, held.id), None, "spam")

    mine = sign_in(app, writer).get(f"/t/{thread.id}")
    assert "My hidden words" in mine.get_data(as_text=True)
    theirs = sign_in(app, reader).get(f"/t/{thread.id}")
    assert "X-Parley-Cache" not in theirs.headers  # nothing was kept from the writer's page
    assert "My hidden words" not in theirs.get_data(as_text=True)
    again = sign_in(app, writer).get(f"/t/{thread.id}")
    assert "X-Parley-Cache" not in again.headers  # nor served to the writer
    assert "My hidden words" in again.get_data(as_text=True)


def test_flash_messages_are_never_shared_and_views_still_count(app, make_member, make_thread):
    thread = make_thread(title="Is there an API?")
    first, second = make_member("First One"), make_member("Second One")
    first_browser = sign_in(app, first)
    first_browser.post(
        f"/t/{thread.id}/follow",
        data={
            "action": "follow",
            "csrf_token": csrf_of(first_browser.get(f"/t/{thread.id}")).pop(),
        },
    )
    flashed = first_browser.get(f"/t/{thread.id}")
    assert "You will be notified of new replies." in flashed.get_data(as_text=True)
    assert "X-Parley-Cache" not in flashed.headers
    page = sign_in(app, second).get(f"/t/{thread.id}")
    assert page.headers["X-Parley-Cache"] == "shared"
    assert "You will be notified" not in page.get_data(as_text=True)
    assert "Following ✓" not in page.get_data(as_text=True)

    app.extensions["parley_views"].flush()
    assert thread_views(app, thread.id) == 2  # the shared copy counted the second member


def badge_of(page) -> int:
    return int(re.search(r'id="unread-badge" data-count="(\d+)"', page.get_data(as_text=True))[1])


def test_the_bell_shows_each_members_own_unread_count_as_it_changes(
    app, make_member, make_thread, make_reply
):
    asker, reader = make_member("Ask Er"), make_member("Rea Der")
    thread = make_thread(author=asker, title="Can I export to CSV?")
    make_reply(thread, body="Yes, from the reports page.")  # the asker is told
    asker_browser = sign_in(app, asker)
    assert badge_of(sign_in(app, reader).get("/")) == 0
    page = asker_browser.get("/")
    assert page.headers["X-Parley-Cache"] == "shared" and badge_of(page) == 1

    token = csrf_of(page).pop()
    assert asker_browser.post("/notifications/read", data={"csrf_token": token}).status_code < 400
    assert badge_of(asker_browser.get("/")) == 0  # read: no new generation, yet no stale badge


def test_leaving_a_private_space_ends_its_shared_pages_at_once(
    app, make_member, make_thread, make_space
):
    board = make_space("council", visibility="private")
    leaver, stayer = make_member("Lea Ver"), make_member("Stay Er")
    with app.app_context():
        for member in (leaver, stayer):
            db.session.add(SpaceMembership(space_id=board.id, member_id=member.id, role="member"))
        db.session.commit()
    make_thread(space=board, author=stayer, title="Roadmap under embargo")
    leaver_browser = sign_in(app, leaver)
    assert "Roadmap under embargo" in leaver_browser.get("/threads").get_data(as_text=True)

    with app.app_context():  # behind the app's back: no event, no new generation
        db.session.query(SpaceMembership).filter_by(member_id=leaver.id).delete()
        db.session.commit()
    page = leaver_browser.get("/threads")
    assert "Roadmap under embargo" not in page.get_data(as_text=True)
    api = leaver_browser.get("/api/v1/threads")
    assert "Roadmap under embargo" not in api.get_data(as_text=True)
    assert "Roadmap under embargo" in sign_in(app, stayer).get("/api/v1/threads").get_data(
        as_text=True
    )


def test_a_profile_offers_editing_to_its_owner_only(app, make_member):
    owner, visitor = make_member("Own Er"), make_member("Vis Itor")
    own = sign_in(app, owner).get(f"/members/{owner.id}")
    other = sign_in(app, visitor).get(f"/members/{owner.id}")
    assert other.headers["X-Parley-Cache"] == "shared"
    assert "Edit profile" in own.get_data(as_text=True)
    assert "Edit profile" not in other.get_data(as_text=True)


def test_a_page_that_made_a_raw_token_is_never_shared(app, make_member):
    from flask import render_template_string

    from community.forms import ReplyForm
    from community.shared_pages import shared

    @app.get("/raw-token")
    @shared
    def raw_token():
        return render_template_string("<form>{{ form.hidden_tag() }}</form>", form=ReplyForm())

    one, two = make_member(), make_member()  # (a new member starts a new generation)
    first, second = (sign_in(app, member).get("/raw-token") for member in (one, two))
    assert "X-Parley-Cache" not in second.headers
    tokens = [re.findall(r'value="([^"]{20,})"', p.get_data(as_text=True)) for p in (first, second)]
    assert tokens[0] and tokens[1] and tokens[0] != tokens[1]
