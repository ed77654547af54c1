"""Listening use cases: score what customers write, raise alerts, keep watchlists,
and let support work the queue (reply, escalate to a case, mark handled).

Scoring runs after the post or idea has committed (subscribers.py) in its own
short transaction; alerts are unique per cause, so a repeated event or an edit
never raises the same alert twice. Alerts about content follow the access
policy: whoever may not read the post or idea never sees its alert.
"""

from __future__ import annotations

import logging
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, partial

from flask import current_app, url_for
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.support.charset import accent_map

from community import access, events, help, markup
from community import services as community
from community.errors import Conflict, Invalid, NotFound
from community.extensions import db
from community.models import Member, MemberRole, Post, SupportCase, Thread, utcnow
from ideas import services as ideas
from ideas.models import Idea

from .models import ALERT_KINDS, WATCHLIST_KINDS, Alert, Sentiment, Watchlist
from .models import WatchTerm as Term

log = logging.getLogger(__name__)

# A post whose VADER compound score is at or below this is "strongly negative".
# VADER calls anything under -0.05 negative; -0.5 keeps mild grumbles ("not
# happy with the export") out of support's queue while "this is broken and
# nobody answers, unacceptable" lands in it. PARLEY_LISTENING_AT_RISK_THRESHOLD
# overrides it.
DEFAULT_AT_RISK_THRESHOLD = -0.5
NAME_MIN, NAME_MAX = 2, 80
TERM_MAX = 60  # characters of one word or phrase
TERM_WORDS_MAX = 6
TERMS_MAX = 50
OPEN_CASE_STATUSES = ("pending_sync", "open", "pending")
REPORT_DAYS = 30


# ---- text: sentiment and term matching ----------------------------------------------


@cache
def _sentiment_analyzer() -> SentimentIntensityAnalyzer:
    """VADER loads its lexicon once per process."""
    return SentimentIntensityAnalyzer()


@cache
def _word_analyzer():
    """Words as the matcher sees them: Unicode word characters, lower-cased,
    accents folded ("café" is "cafe"), Porter-stemmed ("prices", "pricing" are
    "price"; "priceless" stays itself). Terms and texts go through the same one."""
    return RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StemFilter()


@dataclass(frozen=True)
class Word:
    stem: str
    start: int
    end: int


FENCED_CODE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
QUOTED_LINE = re.compile(r"^\s*>.*$", re.MULTILINE)
# Between two words of a phrase only spaces or a hyphen: "switch to" matches
# "Switching to" and "switch-to", never "switch. To".
PHRASE_GAP = re.compile(r"[\s\-\u2010\u2011]+")


def own_words(markdown: str) -> str:
    """What the author wrote themselves: code blocks and quotes of others left out."""
    return QUOTED_LINE.sub(" ", FENCED_CODE.sub(" ", markdown or ""))


def words(text: str) -> list[Word]:
    # Whoosh reuses one token object while iterating: copy what we need.
    return [Word(t.text, t.startchar, t.endchar) for t in _word_analyzer()(text, chars=True)]


def stems_of(term: str) -> str:
    """A term's stems, space-separated: the key it is matched (and de-duplicated) by."""
    return " ".join(w.stem for w in words(term))


# VADER's cost grows with the square of the text's length (50,000 characters take
# seconds), so long texts are scored in chunks of whole sentences and averaged by
# length, and only their beginning counts: scoring stays cheap after every post.
CHUNK_CHARS = 1_000
SCORED_CHARS = 10_000
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def _chunks(text: str) -> list[str]:
    chunks, current = [], ""
    for sentence in SENTENCE_END.split(text[:SCORED_CHARS]):
        while len(sentence) > CHUNK_CHARS:  # a run-on "sentence": cut it anyway
            chunks.append(sentence[:CHUNK_CHARS])
            sentence = sentence[CHUNK_CHARS:]
        if current and len(current) + len(sentence) + 1 > CHUNK_CHARS:
            chunks.append(current)
            current = ""
        current = f"{current} {sentence}" if current else sentence
    if current.strip():
        chunks.append(current)
    return chunks


def sentiment_of(text: str) -> float:
    """VADER's compound score, from -1 (most negative) to +1 (most positive)."""
    text = text or ""
    analyzer = _sentiment_analyzer()
    if len(text) <= CHUNK_CHARS:
        return round(analyzer.polarity_scores(text)["compound"], 4)
    scored = [(len(c), analyzer.polarity_scores(c)["compound"]) for c in _chunks(text)]
    total = sum(length for length, _ in scored)
    return round(sum(length * score for length, score in scored) / total, 4) if total else 0.0


def matched_terms(text: str, terms: list[tuple[str, str]]) -> list[str]:
    """The terms (as written in the watchlist) that occur in the text as whole
    words or phrases; ``terms`` are (text, stems) pairs."""
    found = words(text)
    if not found:
        return []
    positions: dict[str, list[int]] = {}
    for index, word in enumerate(found):
        positions.setdefault(word.stem, []).append(index)
    matched = []
    for term_text, stems in terms:
        wanted = stems.split()
        if not wanted:
            continue
        for start in positions.get(wanted[0], ()):
            if _phrase_at(text, found, start, wanted):
                matched.append(term_text)
                break
    return matched


def _phrase_at(text: str, found: list[Word], start: int, wanted: list[str]) -> bool:
    if start + len(wanted) > len(found):
        return False
    for offset, stem in enumerate(wanted[1:], start=1):
        before, word = found[start + offset - 1], found[start + offset]
        if word.stem != stem or not PHRASE_GAP.fullmatch(text[before.end : word.start]):
            return False
    return True


# ---- who is who -------------------------------------------------------------------


def is_customer(member: Member) -> bool:
    """Listening is about customers: staff posts raise no alerts."""
    return not member.is_staff


def at_risk_threshold() -> float:
    raw = current_app.config.get("LISTENING_AT_RISK_THRESHOLD", DEFAULT_AT_RISK_THRESHOLD)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        log.error("LISTENING_AT_RISK_THRESHOLD=%r is not a number; using the default", raw)
        return DEFAULT_AT_RISK_THRESHOLD
    return value if -1.0 <= value <= 1.0 else DEFAULT_AT_RISK_THRESHOLD


# ---- scoring and raising alerts ---------------------------------------------------------


@dataclass
class Raised:
    """A new alert and the event that announces it, sent after commit."""

    alert: Alert
    send: Callable[[], None]


def _raised(alert: Alert, signal, **kwargs) -> Raised:
    return Raised(alert, partial(signal.send, alert, **kwargs))


def _score(target_type: str, target_id: int, member_id: int, space_id: int, compound: float,
           written_at: datetime) -> None:  # fmt: skip
    row = db.session.scalar(
        select(Sentiment).where(
            Sentiment.target_type == target_type, Sentiment.target_id == target_id
        )
    )
    if row is None:
        row = Sentiment(
            target_type=target_type, target_id=target_id, member_id=member_id,
            space_id=space_id, created_at=written_at,
        )  # fmt: skip
        db.session.add(row)
    row.compound = compound
    row.space_id = space_id
    row.scored_at = utcnow()


def _add_alert(**fields) -> Alert | None:
    """The alert, or None when this cause already raised one (repeated event, edit)."""
    if db.session.scalar(select(Alert.id).where(Alert.key == fields["key"])) is not None:
        return None
    alert = Alert(**fields)
    try:
        with db.session.begin_nested():
            db.session.add(alert)
    except IntegrityError:  # the same cause, handled at the same moment elsewhere
        return None
    return alert


def _watchlists() -> list[Watchlist]:
    return list(db.session.scalars(select(Watchlist).order_by(Watchlist.id)))


def _watch_alerts(text: str, base: dict, target_key: str, thread, idea, member) -> list[Raised]:
    raised = []
    for watchlist in _watchlists():
        terms = matched_terms(text, [(t.text, t.stems) for t in watchlist.terms])
        if not terms:
            continue
        alert = _add_alert(
            key=f"watch:{watchlist.id}:{target_key}",
            kind=watchlist.kind,
            watchlist_id=watchlist.id,
            terms="\n".join(terms),
            **base,
        )
        if alert is None:
            continue
        signal = events.lead_detected if watchlist.kind == "lead" else events.churn_signal
        raised.append(_raised(alert, signal, member=member, thread=thread, idea=idea, terms=terms))
    return raised


def _summary(alert: Alert) -> str:
    title = about(alert)["title"]
    if alert.kind == "at_risk":
        return f"At-risk conversation: {alert.member.display_name} in “{title}”"
    terms = ", ".join(alert.term_list)
    return f"{alert.label} ({alert.watchlist.name}): “{title}” mentions {terms}"


def _notify(raised: list[Raised], author: Member, space) -> list:
    """A notification (the bell) for each recipient of each new alert, in the
    scoring transaction; the access policy has already chosen the recipients."""
    notes = []
    if raised:
        db.session.flush()
    for item in raised:
        alert = item.alert
        notes += community.queue_notifications(
            [m.id for m in alert_recipients(alert)],
            "alert",
            actor=author,
            space=space,
            summary=_summary(alert),
            url=url_for("listening.queue", _anchor=f"alert-{alert.id}"),
        )
    return notes


def _announce(raised: list[Raised], notes: list) -> None:
    for item in raised:
        item.send()
    community.announce(notes)


def _idea_discussed_in(thread: Thread) -> Idea | None:
    """A comment on an idea is a post in the idea's attached discussion."""
    if not thread.embed_url:
        return None
    return db.session.scalar(select(Idea).where(Idea.thread_id == thread.id))


def listen_to_post(post: Post) -> list[Alert]:
    """Score a new or edited post; raise an at-risk alert when a customer wrote
    something strongly negative, and a lead or churn alert for each watchlist it
    matches. Its own transaction; returns the alerts raised now."""
    thread = post.thread
    text = own_words(post.body)
    if post.is_opening:
        text = f"{thread.title}\n\n{text}"
    compound = sentiment_of(text)
    _score("post", post.id, post.author_id, thread.space_id, compound, post.created_at)
    raised: list[Raised] = []
    author = post.author
    if is_customer(author) and not post.is_hidden and not thread.is_hidden:
        idea = _idea_discussed_in(thread)
        base = {
            "target_type": "post", "post_id": post.id, "thread_id": thread.id,
            "idea_id": idea.id if idea else None, "space_id": thread.space_id,
            "member_id": author.id, "sentiment": compound,
        }  # fmt: skip
        if compound <= at_risk_threshold():
            alert = _add_alert(key=f"at_risk:post:{post.id}", kind="at_risk", **base)
            if alert is not None:
                raised.append(
                    _raised(
                        alert, events.conversation_at_risk,
                        member=author, thread=thread, post=post, sentiment=compound,
                    )
                )  # fmt: skip
        raised += _watch_alerts(text, base, f"post:{post.id}", thread, idea, author)
    notes = _notify(raised, author, thread.space)
    db.session.commit()
    _announce(raised, notes)
    return [item.alert for item in raised]


def listen_to_idea(idea: Idea) -> list[Alert]:
    """Score a new idea and match it against the watchlists (an idea is a wish,
    so it raises lead and churn alerts but never an at-risk one)."""
    text = f"{idea.title}\n\n{own_words(idea.body)}"
    compound = sentiment_of(text)
    space_id = idea.area.space_id
    _score("idea", idea.id, idea.author_id, space_id, compound, idea.created_at)
    raised: list[Raised] = []
    if is_customer(idea.author):
        base = {
            "target_type": "idea", "idea_id": idea.id, "space_id": space_id,
            "member_id": idea.author_id, "sentiment": compound,
        }  # fmt: skip
        raised = _watch_alerts(text, base, f"idea:{idea.id}", None, idea, idea.author)
    notes = _notify(raised, idea.author, idea.area.space)
    db.session.commit()
    _announce(raised, notes)
    return [item.alert for item in raised]


def relocate(thread_ids) -> int:
    """Threads moved to another space or merged into another: alerts and scores
    follow their posts (visibility is always judged on the post's current thread;
    this keeps what the queue names and the per-space figures right)."""
    ids = [i for i in thread_ids if i]
    if not ids:
        return 0
    moved_posts = select(Post.id).where(Post.thread_id.in_(ids))
    alerts = list(
        db.session.scalars(
            select(Alert).where(
                Alert.target_type == "post",
                or_(Alert.thread_id.in_(ids), Alert.post_id.in_(moved_posts)),
            )
        )
    )
    for alert in alerts:
        thread = alert.post.thread
        alert.thread_id, alert.space_id = thread.id, thread.space_id
    for post_id, space_id in db.session.execute(
        select(Post.id, Thread.space_id)
        .join(Thread, Thread.id == Post.thread_id)
        .where(Post.thread_id.in_(ids))
    ):
        db.session.execute(
            update(Sentiment)
            .where(Sentiment.target_type == "post", Sentiment.target_id == post_id)
            .values(space_id=space_id)
        )
    db.session.commit()
    return len(alerts)


# ---- who sees an alert --------------------------------------------------------------


def _audience_filter(viewer):
    if viewer.is_admin:
        return Alert.kind.in_(ALERT_KINDS)
    mine = Alert.watchlist_id.in_(select(Watchlist.id).where(Watchlist.owner_id == viewer.id))
    keyword = and_(Alert.kind.in_(("lead", "churn")), mine)
    if access.can_work_support_queue(viewer):
        return or_(Alert.kind == "at_risk", keyword)
    return keyword


def _visible_target_filter(viewer):
    readable_posts = (
        select(Post.id)
        .join(Thread, Thread.id == Post.thread_id)
        .where(access.visible_thread_filter(viewer), access.visible_post_filter(viewer))
    )
    readable_ideas = select(Idea.id).where(ideas.visible_idea_filter(viewer))
    return or_(
        and_(Alert.target_type == "post", Alert.post_id.in_(readable_posts)),
        and_(Alert.target_type == "idea", Alert.idea_id.in_(readable_ideas)),
    )


def alert_filter(viewer):
    """SQL condition on the alerts the viewer may see: their audience (support
    for at-risk alerts, a watchlist's owner for its matches, admins for all) and
    only about posts and ideas the viewer may read."""
    if not access.can_listen(viewer):
        return Alert.id.is_(None)
    return and_(_audience_filter(viewer), _visible_target_filter(viewer))


def _in_audience(member, alert: Alert) -> bool:
    if not access.can_listen(member):
        return False
    if member.is_admin:
        return True
    if alert.kind == "at_risk":
        return access.can_work_support_queue(member)
    return alert.watchlist is not None and alert.watchlist.owner_id == member.id


def can_read_target(member, alert: Alert) -> bool:
    if alert.target_type == "post":
        return access.can_view_post(member, alert.post)
    try:
        ideas.get_idea(alert.idea_id, member)
    except NotFound:
        return False
    return True


def can_view_alert(member, alert: Alert | None) -> bool:
    return alert is not None and _in_audience(member, alert) and can_read_target(member, alert)


def alert_recipients(alert: Alert) -> list[Member]:
    """Who hears about an alert live: its audience, less anyone who may not read it."""
    if alert.kind == "at_risk":
        # An id sub-select, not DISTINCT over whole rows: PostgreSQL cannot compare
        # the member's JSON column.
        agents = select(MemberRole.member_id).where(MemberRole.role == "support_agent")
        candidates = db.session.scalars(select(Member).where(Member.id.in_(agents)))
    else:
        candidates = [alert.watchlist.owner] if alert.watchlist is not None else []
    return [m for m in candidates if not m.is_suspended and can_view_alert(m, alert)]


def get_alert(alert_id, viewer) -> Alert:
    alert = community.row_by_id(Alert, alert_id)
    if not can_view_alert(viewer, alert):
        raise NotFound("No such alert.")
    return alert


def require_listener(viewer) -> None:
    access.require(access.can_listen(viewer), message="Alerts are for support agents and sales.")


ALERT_STATES = ("open", "handled", "all")


def list_alerts(viewer, *, kind=None, state="open", page=1, per_page=30):
    """A page of the alerts the viewer may see, newest first."""
    require_listener(viewer)
    errors = {}
    if kind not in (None, "") and kind not in ALERT_KINDS:
        errors["kind"] = f"One of: {', '.join(ALERT_KINDS)}."
    if state not in ALERT_STATES:
        errors["state"] = f"One of: {', '.join(ALERT_STATES)}."
    community.raise_if_invalid(errors)
    query = select(Alert).where(alert_filter(viewer))
    if kind:
        query = query.where(Alert.kind == kind)
    if state == "open":
        query = query.where(Alert.handled_at.is_(None))
    elif state == "handled":
        query = query.where(Alert.handled_at.is_not(None))
    query = query.order_by(Alert.created_at.desc(), Alert.id.desc())
    return db.paginate(
        query,
        page=min(page, community.MAX_PAGE),
        per_page=per_page,
        max_per_page=current_app.config["API_MAX_PER_PAGE"],
        error_out=False,
    )


def open_cases_of(member_ids) -> dict[int, list[SupportCase]]:
    """Each customer's support cases that are not solved or closed, newest first."""
    ids = {i for i in member_ids if i}
    if not ids:
        return {}
    cases: dict[int, list[SupportCase]] = {}
    for row in db.session.scalars(
        select(SupportCase)
        .where(SupportCase.member_id.in_(ids), SupportCase.status.in_(OPEN_CASE_STATUSES))
        .order_by(SupportCase.created_at.desc(), SupportCase.id.desc())
    ):
        cases.setdefault(row.member_id, []).append(row)
    return cases


def about(alert: Alert, external: bool = False) -> dict:
    """The thread or idea an alert is about: type, id, title and page (a comment
    on an idea is about the idea)."""
    anchor = f"post-{alert.post_id}" if alert.post_id else None
    if alert.idea_id is not None:
        return {
            "type": "idea",
            "id": alert.idea_id,
            "title": alert.idea.title,
            "url": url_for("ideas.idea", idea_id=alert.idea_id, _anchor=anchor, _external=external),
        }
    return {
        "type": "thread",
        "id": alert.thread_id,
        "title": alert.thread.title,
        "url": url_for("community.post", post_id=alert.post_id, _external=external),
    }


def quoted_text(alert: Alert, length: int = 400) -> str:
    """The post or idea as plain text, shortened, for the queue and the case."""
    html = alert.post.body_html if alert.target_type == "post" else alert.idea.body_html
    return markup.excerpt(html, length)


# ---- handling alerts ------------------------------------------------------------------


def _mark_handled(alert: Alert, by: Member, action: str, case_id: int | None = None) -> None:
    alert.handled_at = utcnow()
    alert.handled_by_id = by.id
    alert.handled_action = action
    alert.case_id = case_id


def handle_alert(alert: Alert, by: Member, action="dismissed") -> Alert:
    """Mark an alert handled (who, when, how), so the queue empties and response
    times can be measured. Handling it twice changes nothing."""
    access.require(can_view_alert(by, alert), hide=True)
    if action not in ("replied", "dismissed"):
        raise Invalid("Mark it replied or dismissed.", fields={"action": "Unknown action."})
    if alert.is_handled:
        return alert
    _mark_handled(alert, by, action)
    db.session.commit()
    _announce_handled(alert)
    return alert


def escalate_alert(alert: Alert, by: Member, subject=None, description=None) -> SupportCase:
    """Open a support case for the customer about the alert's thread (the CRM
    bridge creates it in the CRM) and mark the alert handled with it."""
    access.require(can_view_alert(by, alert), hide=True)
    access.require(
        access.can_work_support_queue(by), message="Only support agents escalate to a case."
    )
    if alert.case_id is not None:
        raise Conflict("This alert was already escalated to a case.")
    thread = alert.thread if alert.target_type == "post" else alert.idea.thread
    if thread is None:
        raise Invalid("There is no conversation to escalate.")
    if not subject:
        subject = f"Community: {thread.title}"[:200]
    if not description:
        link = about(alert, external=True)["url"]
        description = (
            f"Escalated from the community by {by.display_name} ({alert.label}).\n\n"
            f"{quoted_text(alert, 3000)}\n\n{link}"
        )
    case_row = help.escalate_thread(
        thread, alert.member, by=by, subject=subject, description=description
    )
    _mark_handled(alert, by, "escalated", case_row.id)
    db.session.commit()
    _announce_handled(alert)
    return case_row


def mark_replied(post: Post) -> list[Alert]:
    """Staff answered in a thread: its open alerts that they may see are handled."""
    author = post.author
    if not access.can_listen(author):
        return []
    handled = []
    for alert in db.session.scalars(
        select(Alert).where(Alert.thread_id == post.thread_id, Alert.handled_at.is_(None))
    ):
        if can_view_alert(author, alert):
            _mark_handled(alert, author, "replied")
            handled.append(alert)
    if handled:
        db.session.commit()
        for alert in handled:
            _announce_handled(alert)
    return handled


def _announce_handled(alert: Alert) -> None:
    # Late import: realtime registers Socket.IO handlers; services stay importable alone.
    from . import realtime

    realtime.send_handled(alert)


# ---- watchlists ---------------------------------------------------------------------


def _checked_terms(raw, errors: dict) -> list[tuple[str, str]]:
    if isinstance(raw, str):
        raw = re.split(r"[\n,;]", raw)
    if not isinstance(raw, list):
        errors["terms"] = "A list of words or phrases."
        return []
    terms, seen = [], set()
    for item in raw:
        if not isinstance(item, str):
            errors["terms"] = "Each term must be text."
            return []
        text = " ".join(item.replace("\x00", "").split())
        if not text:
            continue
        if len(text) > TERM_MAX:
            errors["terms"] = f"“{text[:20]}…”: at most {TERM_MAX} characters a term."
            return []
        stems = stems_of(text)
        if not stems:
            errors["terms"] = f"“{text}” has no words to match."
            return []
        if len(stems.split()) > TERM_WORDS_MAX:
            errors["terms"] = f"“{text[:20]}…”: at most {TERM_WORDS_MAX} words a phrase."
            return []
        if stems not in seen:
            seen.add(stems)
            terms.append((text, stems))
    if not terms:
        errors["terms"] = "Give at least one word or phrase."
    elif len(terms) > TERMS_MAX:
        errors["terms"] = f"At most {TERMS_MAX} terms a list."
    return terms


def _checked_watchlist(name, terms, kind) -> tuple[str, list[tuple[str, str]], str]:
    errors: dict = {}
    name = community.checked_text(name, "name", errors, minimum=NAME_MIN, maximum=NAME_MAX)
    checked = _checked_terms(terms, errors)
    if kind not in WATCHLIST_KINDS:
        errors["kind"] = "Choose lead (buying intent) or churn (risk of leaving)."
    community.raise_if_invalid(errors)
    return name, checked, kind


def create_watchlist(by: Member, name, terms, kind) -> Watchlist:
    """A new watchlist owned by its creator (sales or support), who receives its alerts."""
    require_listener(by)
    name, checked, kind = _checked_watchlist(name, terms, kind)
    now = utcnow()
    watchlist = Watchlist(name=name, kind=kind, owner_id=by.id, created_at=now, updated_at=now)
    watchlist.terms = [Term(text=text, stems=stems) for text, stems in checked]
    db.session.add(watchlist)
    db.session.commit()
    return watchlist


def _require_owner(watchlist: Watchlist, by: Member) -> None:
    require_listener(by)
    access.require(
        watchlist.owner_id == by.id or by.is_admin, message="Only its owner changes a watchlist."
    )


def update_watchlist(watchlist: Watchlist, by: Member, name, terms, kind) -> Watchlist:
    _require_owner(watchlist, by)
    name, checked, kind = _checked_watchlist(name, terms, kind)
    watchlist.name, watchlist.kind, watchlist.updated_at = name, kind, utcnow()
    kept = {t.stems: t for t in watchlist.terms}
    watchlist.terms = [
        kept[stems] if stems in kept else Term(text=text, stems=stems) for text, stems in checked
    ]
    for stems, term in kept.items():
        term.text = next((t for t, s in checked if s == stems), term.text)
    db.session.commit()
    return watchlist


def delete_watchlist(watchlist: Watchlist, by: Member) -> None:
    """Its alerts stay (what was heard was heard) but no longer name the list."""
    _require_owner(watchlist, by)
    db.session.delete(watchlist)
    db.session.commit()


def list_watchlists(viewer) -> list[Watchlist]:
    """Every watchlist, the team's and the viewer's own, for listeners."""
    require_listener(viewer)
    return list(
        db.session.scalars(select(Watchlist).order_by(Watchlist.kind, Watchlist.name, Watchlist.id))
    )


def get_watchlist(watchlist_id, viewer) -> Watchlist:
    watchlist = community.row_by_id(Watchlist, watchlist_id)
    if watchlist is None or not access.can_listen(viewer):
        raise NotFound("No such watchlist.")
    return watchlist


# ---- figures for the queue page -------------------------------------------------------


@dataclass
class ListeningReport:
    open_at_risk: int
    handled: int
    median_minutes_to_handle: float | None
    days: list[date]
    average_sentiment: list[float | None]
    alerts_per_day: list[int]


def listening_report(viewer, today: date | None = None) -> ListeningReport:
    """The last 30 days for the queue page: open at-risk alerts, how fast alerts
    were handled, and the average sentiment of what customers wrote each day
    (in spaces the viewer may see)."""
    require_listener(viewer)
    end = today or utcnow().date()
    start = end - timedelta(days=REPORT_DAYS - 1)
    since = datetime.combine(start, datetime.min.time())
    visible = alert_filter(viewer)
    open_at_risk = db.session.scalar(
        select(func.count(Alert.id)).where(
            visible, Alert.kind == "at_risk", Alert.handled_at.is_(None)
        )
    )
    handled_rows = db.session.execute(
        select(Alert.created_at, Alert.handled_at).where(
            visible, Alert.handled_at.is_not(None), Alert.created_at >= since
        )
    ).all()
    minutes = [(h - c).total_seconds() / 60 for c, h in handled_rows]
    day = func.date(Sentiment.created_at)
    averages = {
        str(d)[:10]: round(float(avg), 3)
        for d, avg in db.session.execute(
            select(day, func.avg(Sentiment.compound))
            .where(
                Sentiment.created_at >= since,
                Sentiment.space_id.in_(access.visible_space_ids(viewer)),
            )
            .group_by(day)
        )
    }
    alert_day = func.date(Alert.created_at)
    per_day = {
        str(d)[:10]: n
        for d, n in db.session.execute(
            select(alert_day, func.count(Alert.id))
            .where(visible, Alert.created_at >= since)
            .group_by(alert_day)
        )
    }
    days = [start + timedelta(days=n) for n in range(REPORT_DAYS)]
    return ListeningReport(
        open_at_risk=open_at_risk or 0,
        handled=len(minutes),
        median_minutes_to_handle=round(statistics.median(minutes), 1) if minutes else None,
        days=days,
        average_sentiment=[averages.get(d.isoformat()) for d in days],
        alerts_per_day=[per_day.get(d.isoformat(), 0) for d in days],
    )


def recent_sentiment_of(member_ids, viewer, days: int = 90) -> dict[int, tuple[float, int]]:
    """Each customer's average score and number of posts and ideas over the last
    ``days``, where the viewer may see them: the trend next to one angry post."""
    ids = {i for i in member_ids if i}
    if not ids:
        return {}
    since = utcnow() - timedelta(days=days)
    rows = db.session.execute(
        select(Sentiment.member_id, func.avg(Sentiment.compound), func.count(Sentiment.id))
        .where(
            Sentiment.member_id.in_(ids),
            Sentiment.created_at >= since,
            Sentiment.space_id.in_(access.visible_space_ids(viewer)),
        )
        .group_by(Sentiment.member_id)
    )
    return {member_id: (round(float(avg), 2), n) for member_id, avg, n in rows}


def member_sentiment(member: Member, viewer, limit: int = 50) -> list[Sentiment]:
    """A customer's most recent scores, oldest first, where the viewer may see them
    (for a customer 360 sentiment trend)."""
    rows = db.session.scalars(
        select(Sentiment)
        .where(
            Sentiment.member_id == member.id,
            Sentiment.space_id.in_(access.visible_space_ids(viewer)),
        )
        .order_by(Sentiment.created_at.desc(), Sentiment.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))
