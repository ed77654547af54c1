"""The one sanitizer: member Markdown in, safe HTML out.

markdown-it-py renders CommonMark (raw HTML disabled, so it is shown as text),
then bleach cleans the result against the allow-lists below — a second line of
defence that also sets rel on every link. Call ``render`` at write time and
store the result; templates mark only that stored column safe.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from functools import partial

import bleach
from bleach.linkifier import LinkifyFilter
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3",
        "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "strong", "sub",
        "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "rel", "class"],
    "abbr": ["title"],
    "code": ["class"],
    "th": ["align"],
    "td": ["align"],
    "ol": ["start"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"

MENTION = re.compile(r"(?<![\w@/.])@([a-z0-9][a-z0-9_-]{1,38})", re.IGNORECASE)


def _set_rel(attrs, new=False):
    href_key = (None, "href")
    if href_key not in attrs:
        return attrs
    href = attrs[href_key]
    # Mentions point inside the site; everything else is someone else's page.
    if href.startswith("/members/"):
        attrs[(None, "rel")] = "nofollow"
    else:
        attrs[(None, "rel")] = LINK_REL
    return attrs


_cleaner = bleach.sanitizer.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"})],
)


def _mention_rule(resolve: Callable[[str], str | None]):
    """A markdown-it inline rule turning @handle into a profile link, when the member exists."""

    def rule(state, silent):
        pos = state.pos
        if state.src[pos] != "@":
            return False
        if pos > 0 and (state.src[pos - 1].isalnum() or state.src[pos - 1] in "@/._-"):
            return False
        match = MENTION.match(state.src, pos)
        if not match:
            return False
        url = resolve(match.group(1).lower())
        if url is None:
            return False
        if not silent:
            token = state.push("link_open", "a", 1)
            token.attrs = {"href": url, "class": "mention"}
            text = state.push("text", "", 0)
            text.content = match.group(0)
            state.push("link_close", "a", -1)
        state.pos = match.end()
        return True

    return rule


def _markdown(resolve=None) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    md.enable(["table", "strikethrough", "linkify"])
    md.validateLink = _safe_link
    if resolve is not None:
        md.inline.ruler.before("emphasis", "mention", _mention_rule(resolve))
    return md


def _safe_link(url: str) -> bool:
    lowered = url.strip().lower()
    return not lowered.startswith(("javascript:", "vbscript:", "data:", "file:"))


_plain = _markdown()


def render(text: str, resolve_mention: Callable[[str], str | None] | None = None) -> str:
    """Markdown to sanitized HTML. ``resolve_mention(handle)`` gives a profile URL or None."""
    md = _markdown(resolve_mention) if resolve_mention else _plain
    return _cleaner.clean(md.render(text or ""))


def mentioned_handles(text: str) -> set[str]:
    """The @handles a text mentions, outside code spans and blocks."""
    without_code = re.sub(r"```.*?```|`[^`]*`", " ", text or "", flags=re.DOTALL)
    return {m.group(1).lower() for m in MENTION.finditer(without_code)}


def excerpt(html: str, length: int = 200) -> str:
    """Plain text from stored HTML, for previews and notifications."""
    text = html_lib.unescape(bleach.clean(html or "", tags=set(), strip=True))
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def as_markup(html: str) -> Markup:
    """Stored, already sanitized HTML marked safe for templates."""
    return Markup(html)  # noqa: S704 - only ever given render() output


def plain(text: str) -> Markup:
    return escape(text)
