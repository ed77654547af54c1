"""Search: one Whoosh index on disk, behind a tiny facade.

    index(doc) / remove(doc)           queue a document to be (re)indexed or removed
    query(member, q, ...)              a page of results the member may see, with facets
    similar(member, text)              threads like the question being typed
    help_suggestions(member, text)     solved threads, then accepted answers (/help)
    reindex(progress)                  rebuild the whole index from the database
    drain()                            apply the queued updates

**Documents.** Every kind of document lives in the one index under a key
``"<type>:<id>"``: threads (title, the text of their visible posts, accepted
answer, space, kind, solved, tags, dates) and members (name, handle, bio). A
kind is a :class:`DocType` registered in ``DOC_TYPES``; ideas are one more,
registered by ideas/search.py without anything here knowing them. The ``kind``
field is the facet users see (question, discussion, member, idea).

**Access.** Documents carry their space id (``"-"`` for ones in no space), a
hidden flag and their author. Every query is filtered in the index by the
spaces ``access.visible_space_ids`` allows and the hidden rule of
``access.visible_thread_filter``, so totals, facets, snippets and spelling
suggestions only ever come from what the member may see; the page of hits is
then checked again against the database with the access policy's SQL filters
(a stale entry is dropped and queued for re-indexing). Hidden posts are never
indexed at all, so no snippet can be cut from one.

**Updates.** The subscribers connected by the app factory write the key of each
changed document to ``community_search_queue`` after the change has committed,
then try to apply the queue. Only the process holding the index lock (an
exclusive ``flock`` on ``<index dir>.lock``, taken without blocking and retried
for ``SEARCH_LOCK_TIMEOUT`` seconds) writes: it loads the current rows of the
queued documents, commits them to Whoosh and only then deletes the queue rows.
Several processes never write at once and no update is lost; a process that
gives up leaves its rows for the next holder. ``reindex`` builds a new index
beside the old one under the same lock, swaps the directories, then applies
whatever was queued meanwhile. A missing or unreadable index is rebuilt.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import re
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask, current_app, url_for
from markupsafe import Markup, escape
from sqlalchemy import delete, false, func, insert, select
from sqlalchemy.orm import Session, selectinload
from whoosh import collectors, highlight, qparser, scoring, sorting
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.analysis import STOP_WORDS, CharsetFilter, StemmingAnalyzer
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

from . import access, events
from .extensions import db
from .models import Member, Post, SearchQueueItem, Space, Tag, Thread, thread_tag, utcnow

log = logging.getLogger(__name__)

PUBLIC = "-"  # the space of documents that belong to no space (members)
SOLVED_BOOST = 1.25  # solved threads outrank unsolved ones of equal relevance
SORTS = ("relevance", "recent")
KIND_LABELS = {
    "question": "Questions",
    "discussion": "Discussions",
    "member": "Members",
    "idea": "Ideas",
}
PREVIEW_CHARS = 700  # of a document's text kept for snippets
SNIPPET_CHARS = 220
MAX_PAGE = 1000
MERGE_AT_SEGMENTS = 8
BATCH = 500

# Whoosh's stop words, and the small words of a described problem ("how do I get
# my ..."), which would otherwise make everything look similar to everything.
STOP_WORDS = STOP_WORDS | {
    "i", "me", "my", "our", "how", "what", "why", "do", "does", "did", "there", "any",
    "anyone", "someone", "way", "please", "thanks", "hi", "hello", "get", "got", "need",
    "needs", "want", "wants",
}  # fmt: skip
ANALYZER = StemmingAnalyzer(stoplist=STOP_WORDS) | CharsetFilter(accent_map)
RELEVANCE_CUTOFF = 0.3  # suggestions scoring below this share of the best one are noise
COMMON_SHARE = 0.2  # suggestions ignore words in more than this share of documents

SCHEMA = Schema(
    key=ID(stored=True, unique=True),  # "<type>:<id>"
    type=ID(stored=True),  # thread | member | idea
    kind=ID(stored=True, sortable=True),  # question | discussion | member | idea
    title=TEXT(analyzer=ANALYZER, field_boost=3.0, spelling=True),
    question=TEXT(analyzer=ANALYZER, spelling=True),  # a thread's opening post
    body=TEXT(analyzer=ANALYZER, spelling=True),  # every visible post
    answer=TEXT(analyzer=ANALYZER),  # the accepted answer
    tags=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True, sortable=True),
    space=ID(stored=True, sortable=True),  # space id, or PUBLIC
    solved=ID(stored=True, sortable=True),  # "1" | "0" (an idea: delivered) | "" (members)
    hidden=ID(stored=True),  # "1" | "0"
    author=ID(stored=True),  # who may still see it when hidden
    created=DATETIME(stored=True, sortable=True),
    activity=DATETIME(stored=True, sortable=True),
    preview=STORED,  # plain text the snippets are cut from
    answer_preview=STORED,
)


# ---- document kinds ---------------------------------------------------------


@dataclass(frozen=True)
class DocType:
    """How one kind of document gets into the index and back out as a result.

    ``load(session, ids)`` gives the index fields of the documents that should be
    in the index (leave an id out to remove it); ``batches(session)`` yields
    every id in batches, for a rebuild; ``count(session)`` sizes the progress
    bar; ``rows(member, ids)`` answers the database check: the rows of the ids
    the member may see, as ``{id: row}``; ``hit(row)`` turns a row into a
    :class:`Hit` without its snippet.
    """

    name: str
    model: type
    load: Callable[[Session, list[int]], dict[int, dict]]
    batches: Callable[[Session], Iterator[list[int]]]
    count: Callable[[Session], int]
    rows: Callable[[object, list[int]], dict[int, object]]
    hit: Callable[[object], Hit]


DOC_TYPES: dict[str, DocType] = {}


def register_type(doc_type: DocType) -> None:
    DOC_TYPES[doc_type.name] = doc_type


def doc_key(doc) -> str:
    """The index key of a model object (a Thread, a Member, ...)."""
    for doc_type in DOC_TYPES.values():
        if isinstance(doc, doc_type.model):
            return f"{doc_type.name}:{doc.id}"
    raise TypeError(f"{type(doc).__name__} is not a searchable document")


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"[*_`#>~|]+")
_SPACES = re.compile(r"\s+")


def plain_text(markdown: str | None) -> str:
    """Markdown source as plain words, for the index and its snippets (which are
    escaped when shown): fast enough for a rebuild of 100,000 posts."""
    text = _MD_LINK.sub(r"\1", markdown or "")
    text = _MD_MARKS.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def id_batches(session: Session, column) -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(
            session.scalars(select(column).where(column > last).order_by(column).limit(BATCH))
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def _load_threads(session: Session, ids: list[int]) -> dict[int, dict]:
    rows = session.execute(
        select(
            Thread.id, Thread.space_id, Thread.author_id, Thread.kind, Thread.title,
            Thread.created_at, Thread.last_post_at, Thread.accepted_post_id, Thread.is_hidden,
        ).where(Thread.id.in_(ids), Thread.embed_url.is_(None))
    ).all()  # fmt: skip
    if not rows:
        return {}
    found = [row.id for row in rows]
    tags: dict[int, list[str]] = {}
    for thread_id, name in session.execute(
        select(thread_tag.c.thread_id, Tag.name)
        .join(Tag, Tag.id == thread_tag.c.tag_id)
        .where(thread_tag.c.thread_id.in_(found))
    ):
        tags.setdefault(thread_id, []).append(name)
    posts: dict[int, list[tuple[int, int, str]]] = {}
    # Hidden posts are never indexed: no result, snippet or suggestion can come from one.
    for thread_id, post_id, number, body in session.execute(
        select(Post.thread_id, Post.id, Post.number, Post.body)
        .where(Post.thread_id.in_(found), Post.is_hidden == false())
        .order_by(Post.thread_id, Post.number)
    ):
        posts.setdefault(thread_id, []).append((post_id, number, plain_text(body)))
    docs = {}
    for row in rows:
        thread_posts = posts.get(row.id, [])
        question = next((text for _id, number, text in thread_posts if number == 0), "")
        answer = next((text for pid, _n, text in thread_posts if pid == row.accepted_post_id), "")
        body = " \n".join(text for _id, _n, text in thread_posts)
        docs[row.id] = {
            "key": f"thread:{row.id}",
            "type": "thread",
            "kind": row.kind,
            "title": row.title,
            "question": question,
            "body": body,
            "answer": answer,
            "tags": ",".join(sorted(tags.get(row.id, []))),
            "space": str(row.space_id),
            "solved": "1" if row.accepted_post_id else "0",
            "hidden": "1" if row.is_hidden else "0",
            "author": str(row.author_id),
            "created": row.created_at,
            "activity": row.last_post_at,
            "preview": body[:PREVIEW_CHARS],
            "answer_preview": answer[:PREVIEW_CHARS],
        }
    return docs


def _thread_rows(member, ids: list[int]) -> dict[int, Thread]:
    threads = db.session.scalars(
        select(Thread)
        .where(Thread.id.in_(ids), Thread.embed_url.is_(None), access.visible_thread_filter(member))
        .options(selectinload(Thread.tags))
    )
    return {thread.id: thread for thread in threads}


def _thread_hit(thread: Thread) -> Hit:
    return Hit(
        type="thread",
        id=thread.id,
        title=thread.title,
        kind=thread.kind,
        solved=thread.is_solved,
        space=thread.space,
        tags=thread.tag_names,
        activity=thread.last_post_at,
        accepted_post_id=thread.accepted_post_id,
        endpoint="community.thread",
        url_values={"thread_id": thread.id},
    )


def _load_members(session: Session, ids: list[int]) -> dict[int, dict]:
    rows = session.execute(
        select(
            Member.id, Member.handle, Member.display_name, Member.bio, Member.created_at,
            Member.last_seen_at,
        ).where(Member.id.in_(ids))
    ).all()  # fmt: skip
    docs = {}
    for row in rows:
        bio = plain_text(row.bio)
        docs[row.id] = {
            "key": f"member:{row.id}",
            "type": "member",
            "kind": "member",
            "title": row.display_name,
            "body": f"@{row.handle} {bio}",
            "space": PUBLIC,
            "solved": "",
            "hidden": "0",
            "author": str(row.id),
            "created": row.created_at,
            "activity": row.last_seen_at or row.created_at,
            "preview": bio[:PREVIEW_CHARS],
            "answer_preview": "",
        }
    return docs


def _member_rows(_member, ids: list[int]) -> dict[int, Member]:
    # Profiles (name, handle, bio) are public.
    return {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids)))}


def _member_hit(member: Member) -> Hit:
    return Hit(
        type="member",
        id=member.id,
        title=member.display_name,
        kind="member",
        solved=None,
        space=None,
        tags=[],
        activity=member.last_seen_at or member.created_at,
        accepted_post_id=None,
        endpoint="community.profile",
        url_values={"member_id": member.id},
    )


def _count(model):
    return lambda session: session.scalar(select(func.count(model.id))) or 0


register_type(
    DocType(
        name="thread",
        model=Thread,
        load=_load_threads,
        batches=lambda session: id_batches(session, Thread.id),
        count=_count(Thread),
        rows=_thread_rows,
        hit=_thread_hit,
    )
)
register_type(
    DocType(
        name="member",
        model=Member,
        load=_load_members,
        batches=lambda session: id_batches(session, Member.id),
        count=_count(Member),
        rows=_member_rows,
        hit=_member_hit,
    )
)


# ---- results ----------------------------------------------------------------


@dataclass
class Hit:
    type: str
    id: int
    title: str
    kind: str
    solved: bool | None
    space: Space | None
    tags: list[str]
    activity: datetime | None
    accepted_post_id: int | None
    endpoint: str
    url_values: dict
    snippet: Markup = field(default_factory=Markup)
    source: str = "match"  # help suggestions: "question" or "answer"
    score: float = 0.0

    def url(self, external: bool = False) -> str:
        return url_for(self.endpoint, **self.url_values, _external=external)


@dataclass
class FacetValue:
    value: str
    label: str
    count: int


@dataclass
class Page:
    query: str
    items: list[Hit] = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = 20
    sort: str = "relevance"
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    suggestion: str | None = None
    unavailable: bool = False  # the index could not be read (being rebuilt)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


class _MarkFormatter(highlight.Formatter):
    """Snippets are escaped text; the only markup in them is our own <mark>."""

    between = " … "

    def _text(self, text):
        return str(escape(text))

    def format_token(self, text, token, replace=False):
        return f"<mark>{escape(highlight.get_text(text, token, replace))}</mark>"


def _shorten(text: str, length: int = SNIPPET_CHARS) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _snippet(whoosh_hit, fieldname: str, text: str) -> Markup:
    if not text:
        return Markup("")
    try:
        marked = whoosh_hit.highlights(fieldname, text=text, top=2)
    except Exception:  # a snippet is never worth an error page
        log.exception("search: highlighting failed")
        marked = ""
    return Markup(marked) if marked else escape(_shorten(text))  # noqa: S704 - escaped above


# ---- ranking, parsing and filtering ------------------------------------------


class _Ranking(scoring.BM25F):
    """BM25F, then solved threads are lifted by SOLVED_BOOST. Searches that only
    want the top few (suggestions, which order solved threads themselves) turn
    ``use_final`` off, letting Whoosh skip blocks that cannot make the top."""

    def __init__(self):
        super().__init__()
        self.use_final = True
        self._reader = None
        self._solved = None

    def final(self, searcher, docnum, score):
        reader = searcher.reader()
        if reader is not self._reader:
            self._reader = reader
            self._solved = reader.column_reader("solved") if reader.has_column("solved") else None
        if self._solved is not None and self._solved[docnum] == "1":
            return score * SOLVED_BOOST
        return score


_parsers: dict[tuple, qparser.QueryParser] = {}
_parsers_lock = threading.Lock()
FIELD_BOOSTS = {"title": 2.0, "tags": 1.5}


def _parser(fields: tuple[str, ...], loose: bool) -> qparser.QueryParser:
    """Plain words, "phrases", AND/OR/NOT and (groups) — but no field:value,
    wildcards, ranges or *:*, which could address internal fields or scan the
    whole lexicon."""
    key = (fields, loose)
    with _parsers_lock:
        if key not in _parsers:
            group = qparser.OrGroup.factory(0.9) if loose else qparser.AndGroup
            parser = qparser.MultifieldParser(
                list(fields), SCHEMA, fieldboosts=FIELD_BOOSTS, group=group
            )
            for plugin in (
                qparser.FieldsPlugin, qparser.WildcardPlugin, qparser.RangePlugin,
                qparser.EveryPlugin,
            ):  # fmt: skip
                parser.remove_plugin_class(plugin)
            _parsers[key] = parser
        return _parsers[key]


def clean_query(text, limit: int | None = None) -> str:
    """What is left of any input to search for: printable, one line, not too long."""
    if not isinstance(text, str):
        return ""
    limit = limit or current_app.config["SEARCH_QUERY_MAX"]
    text = text[: limit * 4].encode("utf-8", "ignore").decode("utf-8")  # no lone surrogates
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return _SPACES.sub(" ", text).strip()[:limit]


_WORDS = re.compile(r"\w+")


def _parse(text: str, fields: tuple[str, ...], loose: bool = False):
    """A query for the text, never an exception: what the parser cannot read is
    searched as plain words."""
    try:
        return _parser(fields, loose).parse(text)
    except Exception:
        log.info("search: could not parse %r; searching its words", text[:80])
    try:
        return _parser(fields, True).parse(" ".join(_WORDS.findall(text)))
    except Exception:
        log.exception("search: could not parse the words of %r", text[:80])
        return wq.NullQuery


def _visibility(member) -> tuple[str, wq.Query]:
    """The access policy as an index filter, and a key naming it: visible spaces
    (and documents in no space), and hidden documents only for moderators and
    their author."""
    space_ids = sorted(db.session.scalars(access.visible_space_ids(member)))
    spaces = wq.Or([wq.Term("space", PUBLIC), *(wq.Term("space", str(i)) for i in space_ids)])
    key = ",".join(map(str, space_ids))
    if access.is_moderator(member):
        return f"moderator|{key}", spaces
    shown: wq.Query = wq.Term("hidden", "0")
    if getattr(member, "is_authenticated", False):
        shown = wq.Or([shown, wq.Term("author", str(member.id))])
        key = f"member:{member.id}|{key}"
    return f"{key}", wq.And([spaces, shown])


# ---- the index on disk ------------------------------------------------------


class IndexUnavailable(Exception):
    """The index could not be read, and could not be rebuilt in time."""


FACET_COLUMNS = ("space", "kind", "solved", "tags")


def _segment_values(reader) -> dict[str, list]:
    count = reader.doc_count_all()
    values = {
        name: list(reader.column_reader(name)) if reader.has_column(name) else [""] * count
        for name in FACET_COLUMNS
    }
    values["tags"] = [tuple(tag for tag in raw.split(",") if tag) for raw in values["tags"]]
    return values


class _Recorder(collectors.WrappingCollector):
    """Passes every match the filter allowed on to the ranking collector and
    remembers it: the total and the facets are counted from these."""

    def prepare(self, top_searcher, q, context):
        super().prepare(top_searcher, q, context)
        self.matched: list[int] = []

    def collect(self, sub_docnum):
        self.matched.append(self.offset + sub_docnum)
        return self.child.collect(sub_docnum)


def _run(searcher, parsed, filter_docs, limit: int, sort: str = "relevance", top_only=False):
    """Search once: the top ``limit`` hits and every match the filter allows (for
    the total and the facets), unless ``top_only``: then Whoosh may skip what
    cannot make the top and nothing else is counted. Snippets highlight the
    query's terms."""
    if sort == "recent":
        ranked = collectors.SortingCollector(
            sorting.FieldFacet("activity", reverse=True), limit=limit
        )
    elif top_only:
        ranked = collectors.TopCollector(limit)
    elif limit < searcher.doc_count_all():
        # No pruning: the matcher must visit every match for the total and facets.
        ranked = collectors.TopCollector(limit, usequality=False, replace=0)
    else:
        ranked = collectors.UnlimitedCollector()
    recorder = _Recorder(ranked)
    outer = collectors.FilterCollector(recorder, allow=filter_docs)
    weighting = searcher.weighting
    weighting.use_final = not top_only
    try:
        searcher.search_with_collector(parsed, outer)
    finally:
        weighting.use_final = True
    results = outer.results()
    results.formatter = _MarkFormatter()
    results.fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)
    return results, recorder.matched


class _Handle:
    """One app's view of its index directory: a searcher kept open between
    queries and refreshed when the index changes (or is swapped by a rebuild).
    Whoosh searchers are not shared between threads: queries take ``lock``."""

    def __init__(self, directory: str):
        self.directory = directory
        self.lock = threading.RLock()
        self._index = None
        self._searcher = None
        self._inode = None
        self._filters: dict[str, object] = {}
        self._values: dict[str, list] | None = None
        self._segment_values: dict[str, dict[str, list]] = {}
        self.last_repair = 0.0

    def searcher(self):
        inode = os.stat(self.directory).st_ino  # a rebuild swaps in another directory
        if self._searcher is None or inode != self._inode:
            self.close()
            self._index = whoosh_index.open_dir(self.directory)
            self._searcher = self._index.searcher(weighting=_Ranking())
            self._inode = inode
        elif not self._searcher.up_to_date():
            # Not Searcher.refresh(): reusing readers brings back segments (and
            # documents) the new generation replaced.
            self._searcher.close()
            self._searcher = self._index.searcher(weighting=_Ranking())
            self._filters.clear()
            self._values = None
        return self._searcher

    def filter_docs(self, searcher, key: str, query: wq.Query):
        """The document set of a filter, kept until the index changes (the key
        names everything the filter depends on). Mind that Whoosh ignores an
        *empty* filter (it is falsy): callers answer nothing for one."""
        if key not in self._filters:
            if len(self._filters) > 256:
                self._filters.clear()
            self._filters[key] = searcher._filter_to_comb(query)
        return self._filters[key]

    def facet_values(self, searcher) -> dict[str, list]:
        """Each document's space, kind, solved and tags by document number, read
        from the index's columns once per segment (segments never change; a new
        generation mostly adds small ones)."""
        if self._values is None:
            values: dict[str, list] = {name: [] for name in FACET_COLUMNS}
            keep = {}
            for reader, _offset in sorted(searcher.reader().leaf_readers(), key=lambda r: r[1]):
                segment = reader.segment()
                key = segment.segment_id() if segment is not None else str(id(reader))
                cached = self._segment_values.get(key) or _segment_values(reader)
                keep[key] = cached
                for name in FACET_COLUMNS:
                    values[name].extend(cached[name])
            self._segment_values = keep
            self._values = values
        return self._values

    def close(self):
        if self._searcher is not None:
            try:
                self._searcher.close()
            except Exception:
                log.debug("search: closing a searcher failed", exc_info=True)
        self._searcher = self._index = self._inode = None
        self._filters.clear()
        self._values = None


def init_app(app: Flask) -> None:
    app.extensions["parley_search"] = _Handle(app.config["SEARCH_INDEX_DIR"])


def _handle() -> _Handle:
    handle = current_app.extensions.get("parley_search")
    if handle is None:  # an app built without init_app (never in create_app)
        handle = current_app.extensions["parley_search"] = _Handle(
            current_app.config["SEARCH_INDEX_DIR"]
        )
    return handle


@contextmanager
def _exclusive(directory: str, timeout: float | None):
    """The index lock: yields True when held, False when not had within timeout
    (None waits as long as it takes)."""
    path = directory.rstrip("/") + ".lock"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.02)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _usable(directory: str) -> bool:
    """The index exists and opens (its table of contents and segments read)."""
    try:
        if not whoosh_index.exists_in(directory):
            return False
        index = whoosh_index.open_dir(directory)
        try:
            with index.searcher() as searcher:
                searcher.doc_count()
        finally:
            index.close()
        return True
    except Exception:
        log.warning("search: the index in %s is unreadable", directory, exc_info=True)
        return False


def default_procs() -> int:
    """Processes for a full rebuild: the machine's cores, up to four."""
    return max(1, min(4, os.cpu_count() or 1))


def _build(directory: str, progress: Callable[[int], None] | None, procs: int = 1) -> int:
    """Build a fresh index beside the live one, then swap it in. Hold the lock.
    With ``procs`` > 1 Whoosh analyses documents in that many worker processes
    (for the command line; a rebuild inside a web request stays in-process)."""
    parent = os.path.dirname(directory.rstrip("/")) or "."
    os.makedirs(parent, exist_ok=True)
    base = os.path.basename(directory.rstrip("/"))
    fresh = os.path.join(parent, f".{base}.building-{uuid.uuid4().hex[:8]}")
    os.makedirs(fresh)
    count = 0
    try:
        index = whoosh_index.create_in(fresh, SCHEMA)
        if procs > 1 and total_documents() > 2000:
            writer = index.writer(limitmb=128, procs=procs, multisegment=True)
        else:
            writer = index.writer(limitmb=256)
        try:
            with Session(db.engine) as session:
                for doc_type in DOC_TYPES.values():
                    for ids in doc_type.batches(session):
                        for fields in doc_type.load(session, ids).values():
                            writer.add_document(**fields)
                            count += 1
                        if progress:
                            progress(len(ids))
                        session.expunge_all()
        except BaseException:
            writer.cancel()
            raise
        writer.commit(optimize=True)
        index.close()
        old = os.path.join(parent, f".{base}.old-{uuid.uuid4().hex[:8]}")
        if os.path.exists(directory):
            os.rename(directory, old)
        os.rename(fresh, directory)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return count


def _apply_queue(directory: str) -> int:
    """Apply every queued update to the index, rebuilding it first when it is
    missing or unreadable. Hold the lock."""
    if not whoosh_index.exists_in(directory):
        _build(directory, None)
    try:
        return _apply_queued_rows(directory)
    except Exception:
        if _usable(directory):
            raise
        log.warning("search: the index in %s is unreadable; rebuilding", directory)
        _build(directory, None)
        return _apply_queued_rows(directory)


def _apply_queued_rows(directory: str) -> int:
    index = whoosh_index.open_dir(directory)
    applied = 0
    try:
        with Session(db.engine) as session:
            while True:
                rows = session.execute(
                    select(SearchQueueItem.id, SearchQueueItem.doc_key, SearchQueueItem.action)
                    .order_by(SearchQueueItem.id)
                    .limit(BATCH)
                ).all()
                if not rows:
                    return applied
                latest: dict[str, str] = {}
                for row in rows:  # the last word on each document wins
                    latest.pop(row.doc_key, None)
                    latest[row.doc_key] = row.action
                writer = index.writer(timeout=5.0)
                try:
                    _write(session, writer, latest)
                except BaseException:
                    writer.cancel()
                    raise
                # Small updates add a segment; merging waits until there are a few.
                writer.commit(merge=len(writer.segments) >= MERGE_AT_SEGMENTS)
                session.execute(
                    delete(SearchQueueItem).where(SearchQueueItem.id.in_([r.id for r in rows]))
                )
                session.commit()
                session.expunge_all()
                applied += len(latest)
    finally:
        index.close()


def _write(session: Session, writer, latest: dict[str, str]) -> None:
    wanted: dict[str, list[int]] = {}
    for key, action in latest.items():
        kind, _, raw_id = key.partition(":")
        if action == "index" and kind in DOC_TYPES and raw_id.isdigit():
            wanted.setdefault(kind, []).append(int(raw_id))
        else:
            writer.delete_by_term("key", key)
    for kind, ids in wanted.items():
        docs = DOC_TYPES[kind].load(session, ids)
        for doc_id in ids:
            if doc_id in docs:
                writer.update_document(**docs[doc_id])
            else:  # gone from the database, or no longer searchable
                writer.delete_by_term("key", f"{kind}:{doc_id}")


# ---- the facade ---------------------------------------------------------------


def _queue(keys: Iterable[str], action: str) -> None:
    rows = [{"doc_key": key, "action": action, "queued_at": utcnow()} for key in keys]
    if not rows:
        return
    # Its own short transaction: the caller's session has committed its change.
    with db.engine.begin() as connection:
        connection.execute(insert(SearchQueueItem), rows)
    if current_app.config["SEARCH_SYNC_UPDATES"]:
        drain(timeout=current_app.config["SEARCH_LOCK_TIMEOUT"])


def index(doc) -> None:
    """Queue a document (Thread, Member, ...) to be indexed from its current row."""
    _queue([doc_key(doc)], "index")


def remove(doc) -> None:
    """Queue a document's removal from the index."""
    _queue([doc_key(doc)], "remove")


def pending() -> int:
    """How many updates wait in the queue."""
    return db.session.scalar(select(func.count(SearchQueueItem.id))) or 0


def drain(timeout: float | None = 0) -> int:
    """Apply queued updates if the index lock can be had within ``timeout``
    seconds; returns how many documents were updated (0 when another process
    holds the lock: it applies them, or the next change will)."""
    directory = current_app.config["SEARCH_INDEX_DIR"]
    with _exclusive(directory, timeout) as held:
        if not held:
            return 0
        return _apply_queue(directory)


def total_documents() -> int:
    with Session(db.engine) as session:
        return sum(doc_type.count(session) for doc_type in DOC_TYPES.values())


def reindex(
    progress: Callable[[int], None] | None = None,
    timeout: float | None = None,
    procs: int = 1,
) -> int:
    """Rebuild the index from the database; ``progress(n)`` is called as batches
    of n rows are indexed. Returns the number of documents indexed."""
    directory = current_app.config["SEARCH_INDEX_DIR"]
    with _exclusive(directory, timeout) as held:
        if not held:
            raise IndexUnavailable("another process holds the search index lock")
        count = _build(directory, progress, procs)
        _apply_queue(directory)  # what changed while the new index was being built
    handle = _handle()
    with handle.lock:
        handle.close()
    return count


def _repair() -> bool:
    """Rebuild an unreadable index (at most once a minute per process)."""
    handle = _handle()
    with handle.lock:
        handle.close()
    directory = handle.directory
    if _usable(directory):
        return True
    if time.monotonic() - handle.last_repair < 60 and handle.last_repair:
        return False
    handle.last_repair = time.monotonic()
    log.warning("search: rebuilding the missing or unreadable index in %s", directory)
    with _exclusive(directory, current_app.config["SEARCH_REBUILD_WAIT"]) as held:
        if not held:
            return False
        if not _usable(directory):
            _build(directory, None)
        _apply_queue(directory)
    return True


def _with_searcher(work: Callable):
    """Run ``work(handle, searcher)``; an unreadable index is rebuilt and tried
    again once. Raises IndexUnavailable when it cannot be read at all."""
    handle = _handle()
    if current_app.config["SEARCH_SYNC_UPDATES"]:
        try:
            if db.session.scalar(select(SearchQueueItem.id).limit(1)) is not None:
                drain(timeout=0)
        except Exception:
            log.exception("search: applying queued updates failed")
    for attempt in (1, 2):
        try:
            with handle.lock:
                return work(handle, handle.searcher())
        except Exception as error:
            log.warning("search: query failed (%s)", error, exc_info=True)
            if attempt == 2 or not _repair():
                raise IndexUnavailable(str(error)) from error
    raise IndexUnavailable("unreachable")


def _selection_filter(space=None, kind=None, solved=None, tag=None) -> tuple[list[wq.Query], str]:
    parts: list[wq.Query] = []
    if space is not None:
        parts.append(wq.Term("space", str(space.id) if space else "none"))
    if kind:
        parts.append(wq.Term("kind", kind))
    if solved is not None:
        parts.append(wq.Term("solved", "1" if solved else "0"))
    if tag:
        parts.append(wq.Term("tags", tag))
    return parts, repr(parts)


def _checked(member, results, stale: list[str]) -> list[tuple[object, Hit]]:
    """The hits the member may see, checked against the database, in order."""
    by_type: dict[str, list[int]] = {}
    for hit in results:
        by_type.setdefault(hit["type"], []).append(int(hit["key"].partition(":")[2]))
    rows = {
        kind: DOC_TYPES[kind].rows(member, ids) if kind in DOC_TYPES else {}
        for kind, ids in by_type.items()
    }
    checked = []
    for hit in results:
        kind, _, raw_id = hit["key"].partition(":")
        row = rows.get(kind, {}).get(int(raw_id))
        if row is None:
            stale.append(hit["key"])
            continue
        result = DOC_TYPES[kind].hit(row)
        result.score = hit.score or 0.0
        checked.append((hit, result))
    return checked


def _requeue(stale: list[str]) -> None:
    """Entries the database refused were stale: index them again."""
    if stale:
        log.info("search: %d stale entries queued for re-indexing", len(stale))
        try:
            _queue(stale, "index")
        except Exception:
            log.exception("search: could not queue stale entries")


def query(
    member,
    q,
    *,
    space: Space | bool | None = None,
    kind: str | None = None,
    solved: bool | None = None,
    tag: str | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int | None = None,
) -> Page:
    """A page of results for ``q`` that ``member`` may see. ``space`` narrows to a
    space (``False``: a space the member may not see, so nothing); facets count
    the matches under the current selection. Never raises for any input."""
    per_page = max(1, min(per_page or current_app.config["SEARCH_RESULTS_PER_PAGE"], 100))
    page = max(1, min(page if isinstance(page, int) else 1, MAX_PAGE))
    sort = sort if sort in SORTS else "relevance"
    text = clean_query(q)
    result = Page(query=text, page=page, per_page=per_page, sort=sort)
    if not text:
        return result
    parsed = _parse(text, ("title", "body", "tags"))
    if parsed is wq.NullQuery:
        return result
    selection, selection_key = _selection_filter(space, kind, solved, tag)
    visible_key, visible = _visibility(member)
    stale: list[str] = []

    def work(handle, searcher):
        filter_docs = handle.filter_docs(
            searcher, f"{visible_key}|{selection_key}", wq.And([visible, *selection])
        )
        if not filter_docs:  # nothing the member may see (Whoosh would not filter at all)
            return
        results, matched = _run(searcher, parsed, filter_docs, page * per_page, sort)
        result.total = len(matched)
        start = (page - 1) * per_page
        hits = list(results[start : start + per_page]) if start < result.total else []
        for whoosh_hit, hit in _checked(member, hits, stale):
            hit.snippet = _snippet(whoosh_hit, "body", whoosh_hit.get("preview", ""))
            result.items.append(hit)
        result.facets = _facets(member, handle.facet_values(searcher), matched)
        if page == 1 and result.total < 3:
            result.suggestion = _suggestion(searcher, parsed, text, filter_docs, result.total)

    try:
        _with_searcher(work)
    except IndexUnavailable:
        return Page(query=text, page=page, per_page=per_page, sort=sort, unavailable=True)
    _requeue(stale)
    return result


def _facets(member, values: dict[str, list], matched: list[int]) -> dict[str, list[FacetValue]]:
    def count(name):
        column = values[name]
        return Counter(column[docnum] for docnum in matched)

    def ordered(facets):
        return sorted(facets, key=lambda f: (-f.count, f.label))

    space_counts = {k: n for k, n in count("space").items() if k and k != PUBLIC}
    ids = [int(k) for k in space_counts if k.isdigit()]
    spaces = {}
    if ids:
        spaces = {
            str(s.id): s
            for s in db.session.scalars(
                select(Space).where(Space.id.in_(ids), access.visible_space_filter(member))
            )
        }
    solved = count("solved")
    tags = Counter(tag for docnum in matched for tag in values["tags"][docnum])
    return {
        "space": ordered(
            FacetValue(spaces[k].slug, spaces[k].name, n)
            for k, n in space_counts.items()
            if k in spaces
        ),
        "kind": ordered(
            FacetValue(k, KIND_LABELS.get(k, k.title()), n) for k, n in count("kind").items() if k
        ),
        "solved": [
            FacetValue(value, label, solved[key])
            for key, value, label in (("1", "yes", "Solved"), ("0", "no", "Unsolved"))
            if solved.get(key)
        ],
        "tag": ordered(FacetValue(k, k, n) for k, n in tags.items())[:12],
    }


def _suggestion(searcher, parsed, text: str, filter_docs, found: int) -> str | None:
    """ "Did you mean": the corrected query, offered only when it finds more of
    what the member may see (so no word from private content is ever offered)."""
    try:
        correction = searcher.correct_query(parsed, text, prefix=1, maxdist=2)
        if correction.query == parsed or not correction.string.strip():
            return None
        if correction.string.strip().lower() == text.lower():
            return None
        if any(len(getattr(token, "original", "")) < 4 for token in correction.tokens):
            return None  # "and" is not a misspelt "api"
        better = searcher.search(correction.query, limit=1, filter=filter_docs)
        return correction.string if len(better) > found else None
    except Exception:
        log.info("search: no spelling suggestion for %r", text[:80], exc_info=True)
        return None


def _rare_words_only(searcher, query: wq.Query) -> wq.Query:
    """A loose query without the words most documents have ("fails", "after",
    "working"): they rank nothing and cost the most. Keeps the two rarest when
    every word is common."""
    if not isinstance(query, wq.Or) or len(query.subqueries) < 3:
        return query
    if searcher.doc_count_all() < 1000:  # small indexes are quick whatever the words
        return query
    common = searcher.doc_count_all() * COMMON_SHARE

    def frequency(sub):
        return max(
            (searcher.doc_frequency(field, text) for field, text in sub.iter_all_terms()),
            default=0,
        )

    ranked = sorted(query.subqueries, key=frequency)
    kept = [sub for sub in ranked if frequency(sub) <= common] or ranked[:2]
    if len(kept) == len(query.subqueries):
        return query
    return wq.Or(kept, boost=query.boost, scale=query.scale)


def _thread_hits(member, parsed, extra: list[wq.Query], limit: int, snippet_field: str):
    """Top threads for a loose query, checked, with snippets."""
    found: list[Hit] = []
    stale: list[str] = []
    visible_key, visible = _visibility(member)
    filters = [wq.Term("type", "thread"), *extra]

    def work(handle, searcher):
        filter_docs = handle.filter_docs(
            searcher, f"{visible_key}|{filters!r}", wq.And([visible, *filters])
        )
        if not filter_docs:  # nothing the member may see (Whoosh would not filter at all)
            return
        loose = _rare_words_only(searcher, parsed)
        results, _matched = _run(searcher, loose, filter_docs, limit, top_only=True)
        best = results[0].score if results.scored_length() else 0
        relevant = [hit for hit in results if (hit.score or 0) >= best * RELEVANCE_CUTOFF]
        for whoosh_hit, hit in _checked(member, relevant, stale):
            preview = "answer_preview" if snippet_field == "answer" else "preview"
            hit.snippet = _snippet(whoosh_hit, snippet_field, whoosh_hit.get(preview, ""))
            found.append(hit)

    try:
        _with_searcher(work)
    except IndexUnavailable:
        return []
    _requeue(stale)
    return found


def similar(member, text, limit: int = 5) -> list[Hit]:
    """Threads like a question being typed: up to ``limit``, solved first."""
    text = clean_query(text)
    if len(text) < 3:
        return []
    parsed = _parse(text, ("title", "question"), loose=True)
    if parsed is wq.NullQuery:
        return []
    hits = _thread_hits(member, parsed, [], limit, "question")
    return sorted(hits, key=lambda hit: not hit.solved)  # stable: by relevance within each


def help_suggestions(member, text, limit: int = 5) -> list[Hit]:
    """For the help flow: solved threads whose question is like the problem
    described, then threads whose accepted answer speaks to it."""
    text = clean_query(text, limit=current_app.config["SEARCH_QUERY_MAX"] * 2)
    if len(text) < 3:
        return []
    solved = [wq.Term("solved", "1")]
    questions = _parse(text, ("title", "question"), loose=True)
    hits = []
    if questions is not wq.NullQuery:
        hits = _thread_hits(member, questions, solved, limit, "question")
        for hit in hits:
            hit.source = "question"
    if len(hits) < limit:
        answers = _parse(text, ("answer",), loose=True)
        if answers is not wq.NullQuery:
            seen = {hit.id for hit in hits}
            for hit in _thread_hits(member, answers, solved, limit, "answer"):
                if hit.id not in seen and len(hits) < limit:
                    hit.source = "answer"
                    hits.append(hit)
    return hits


# ---- event subscribers --------------------------------------------------------


def queue_safely(keys: Callable[[], list[str]]) -> None:
    """Search never breaks the change that triggered it: errors are logged and
    the update stays queued (or is rebuilt by `flask search reindex`)."""
    try:
        _queue(keys(), "index")
    except Exception:
        log.exception("search: queueing an index update failed")


def on_thread_created(thread, **_):
    queue_safely(lambda: [f"thread:{thread.id}"])


def on_post_changed(post, **_):
    """post_created, post_edited, answer_accepted and answer_unaccepted: the
    thread's text or solved state changed."""
    queue_safely(lambda: [f"thread:{post.thread_id}"])


def on_threads_merged(thread, into=None, **_):
    """Both threads changed: the merged one is hidden, the kept one has its posts."""
    queue_safely(lambda: [f"thread:{thread.id}"] + ([f"thread:{into.id}"] if into else []))


def on_thread_moved(thread, **_):
    """A moved thread carries its new space into the index at once: a thread moved
    into a private space must stop showing up in anyone else's results."""
    queue_safely(lambda: [f"thread:{thread.id}"])


def on_member_changed(member, **_):
    queue_safely(lambda: [f"member:{member.id}"])


def connect_subscribers() -> None:
    events.thread_created.connect(on_thread_created)
    for signal in (
        events.post_created,
        events.post_edited,
        events.answer_accepted,
        events.answer_unaccepted,
        # Moderation: hidden and deleted posts leave the thread's text (a hidden opening
        # post hides the thread); restored ones come back.
        events.post_hidden,
        events.post_restored,
        events.post_deleted,
    ):
        signal.connect(on_post_changed)
    events.thread_moved.connect(on_thread_moved)
    events.threads_merged.connect(on_threads_merged)
    events.member_joined.connect(on_member_changed)
    events.member_updated.connect(on_member_changed)
