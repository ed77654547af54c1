"""The one sanitizer: whatever members write, the stored HTML is safe."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community import markup, services


def render(text: str) -> str:
    return markup.render(text)


# ---- scripts, handlers and dangerous links ---------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        "hello <script>alert(1)</script> world",
        "<scr<script>ipt>alert(1)</script>",
        "```\n</code><script>alert(1)</script>\n```",
        "> <script>alert(1)</script>",
        "| a |\n|---|\n| <script>alert(1)</script> |",
    ],
)
def test_script_tags_never_survive(text):
    html = render(text)
    assert "<script" not in html.lower()


@pytest.mark.parametrize(
    "text",
    [
        '<img src=x onerror="alert(1)">',
        "<a href='https://example.com' onclick='alert(1)'>x</a>",
        '<p onmouseover="alert(1)">hover</p>',
        '<svg onload="alert(1)">',
        '<b style="x" onfocus=alert(1) autofocus>b</b>',
    ],
)
def test_event_handlers_never_survive(text):
    html = render(text)
    assert not re.search(r"<[^>]*\son\w+\s*=", html, re.IGNORECASE), html
    assert "<img" not in html and "<svg" not in html


@pytest.mark.parametrize(
    "text",
    [
        "[click](javascript:alert(1))",
        "[click](JAVASCRIPT:alert(1))",
        "[click]( javascript:alert(1))",
        "[click](java&#115;cript:alert(1))",
        "[click](&#106;avascript:alert(1))",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](file:///etc/passwd)",
        "<javascript:alert(1)>",
        "![img](javascript:alert(1))",
        '<a href="javascript:alert(1)">raw</a>',
        "[ref]\n\n[ref]: javascript:alert(1)",
    ],
)
def test_dangerous_links_are_neutralised(text):
    html = render(text)
    hrefs = re.findall(r'href="([^"]*)"', html)
    for href in hrefs:
        assert href.lower().startswith(("http://", "https://", "mailto:", "/")), href
    assert "javascript:" not in " ".join(hrefs).lower()
    assert "data:" not in " ".join(hrefs).lower()
    assert "<img" not in html


def test_raw_html_is_shown_as_text_not_run():
    html = render('<b>bold?</b> <iframe src="https://evil.example"></iframe>')
    assert "<iframe" not in html
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html


# ---- what members are allowed to write -------------------------------------------------------


def test_links_get_rel_nofollow_ugc_noopener():
    html = render("See [the docs](https://docs.example.com/x?a=1&b=2).")
    assert (
        '<a href="https://docs.example.com/x?a=1&amp;b=2" rel="nofollow ugc noopener">the docs</a>'
        in html
    )


def test_bare_urls_become_links_with_rel():
    html = render("Go to https://example.com/help now")
    assert '<a href="https://example.com/help" rel="nofollow ugc noopener">' in html
    email = render("Write to help@example.com")
    assert 'href="mailto:help@example.com"' in email


def test_a_members_own_rel_cannot_weaken_it():
    html = render('[x](https://example.com "title")')
    assert html.count("rel=") == 1
    assert 'rel="nofollow ugc noopener"' in html
    assert 'title="title"' in html


def test_urls_in_code_are_not_linked():
    html = render("`https://example.com` and\n\n    https://example.org\n")
    assert "<a " not in html
    assert "<code>https://example.com</code>" in html


def test_tables():
    html = render("| Plan | Price |\n|:-----|------:|\n| Pro | **$10** |\n")
    for tag in ("<table>", "<thead>", "<tbody>", "<tr>", "<th", "<td"):
        assert tag in html
    assert "<strong>$10</strong>" in html
    assert "style=" not in html


def test_code_blocks_keep_their_text_escaped():
    html = render('```python\nif a < b and "x" > y:\n    print("<b>")\n```')
    assert '<pre><code class="language-python">' in html
    assert "if a &lt; b and" in html
    assert "&lt;b&gt;" in html
    inline = render("Use `<div>` here")
    assert "<code>&lt;div&gt;</code>" in inline


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("**bold** and *em*", "<strong>bold</strong> and <em>em</em>"),
        ("~~gone~~", "<s>gone</s>"),
        ("# Title", "<h1>Title</h1>"),
        ("- one\n- two", "<li>one</li>"),
        ("3. three\n4. four", '<ol start="3">'),
        ("> quoted", "<blockquote>"),
        ("a\n\n---\n\nb", "<hr>"),
    ],
)
def test_everyday_markdown(text, fragment):
    assert fragment in render(text)


def test_empty_input():
    assert render("") == ""
    assert render(None) == ""


# ---- mentions --------------------------------------------------------------------------------


def test_mentions_link_only_existing_members(ctx, make_member):
    ada = make_member("Ada Lovelace")

    html = services.render_body(f"Thanks @{ada.handle}, and @nobody-here too.")

    assert f'<a href="/members/{ada.id}" class="mention" rel="nofollow">@{ada.handle}</a>' in html
    assert "@nobody-here" in html
    assert html.count("<a ") == 1


def test_mention_in_code_or_an_address_is_not_a_mention(ctx, make_member):
    ada = make_member("Ada Lovelace")
    html = services.render_body(f"`@{ada.handle}` or mail someone@{ada.handle}.example")
    assert 'class="mention"' not in html
    assert markup.mentioned_handles(f"`@{ada.handle}`") == set()
    assert markup.mentioned_handles(f"```\n@{ada.handle}\n```") == set()


def test_mentioned_handles():
    assert markup.mentioned_handles("Hi @Ada-Lovelace and @bob_2, not me@example.com") == {
        "ada-lovelace",
        "bob_2",
    }
    assert markup.mentioned_handles("") == set()


def test_mention_resolver_urls_are_sanitised_too():
    html = markup.render("@evil", lambda handle: "javascript:alert(1)")
    assert "javascript:" not in html


def test_excerpt_is_plain_text():
    html = render("**Hello** <script>x</script> [link](https://example.com) & more")
    # The words the member wrote, without the markup added by rendering (templates escape it).
    assert markup.excerpt(html) == "Hello <script>x</script> link & more"
    assert markup.excerpt(render("word " * 100), length=20).endswith("…")
    assert len(markup.excerpt(render("word " * 100), length=20)) <= 20


# ---- property: arbitrary text never yields active content ------------------------------------

DANGEROUS_BITS = st.sampled_from(
    [
        "<script>",
        "</script>",
        "<img src=x onerror=alert(1)>",
        " onload=",
        "javascript:",
        "JaVaScRiPt:",
        "data:text/html,",
        "[x](",
        ")",
        "](",
        "<",
        ">",
        '"',
        "'",
        "`",
        "```",
        "\n",
        "&#106;",
        "&lt;",
        "@",
        "http://",
        "|",
        "*",
        " ",
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=12), DANGEROUS_BITS), max_size=25).map("".join)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
BAD_HREF = re.compile(r"""href\s*=\s*["']?\s*(javascript|vbscript|data):""", re.IGNORECASE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_render_never_emits_active_content(text):
    html = markup.render(text)
    assert "<script" not in html.lower()
    assert not BAD_HREF.search(html), html
    assert not HANDLER.search(html), html
    for tag in re.findall(r"<\s*([a-zA-Z0-9]+)", html):
        assert tag.lower() in markup.ALLOWED_TAGS, tag


@settings(max_examples=100, deadline=None)
@given(TEXT)
def test_render_with_mentions_never_emits_active_content(text):
    html = markup.render(text, lambda handle: f"/members/{len(handle)}")
    assert "<script" not in html.lower()
    assert not BAD_HREF.search(html), html
    assert not HANDLER.search(html), html
