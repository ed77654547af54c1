"""Ideas in the community's search index: one more document kind.

Registered with ``community.search.register_type`` by ``connect_subscribers``
(called from the app factory), so community search knows ideas without
importing this package. An idea's space is its area's space: the index filter
and the database check use the same access policy as everything else. Merged
duplicates stay out (their votes and text live on in the idea they joined).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from community import events, search
from community.extensions import db
from community.models import Tag

from .models import Area, Idea, idea_tag
from .services import visible_idea_filter


def _load(session: Session, ids: list[int]) -> dict[int, dict]:
    rows = session.execute(
        select(
            Idea.id, Idea.author_id, Idea.title, Idea.body, Idea.status, Idea.created_at,
            Idea.status_changed_at, Idea.edited_at, Idea.hidden_at, Area.space_id,
        )
        .join(Area, Area.id == Idea.area_id)
        .where(Idea.id.in_(ids), Idea.merged_into_id.is_(None))
    ).all()  # fmt: skip
    if not rows:
        return {}
    tags: dict[int, list[str]] = {}
    for idea_id, name in session.execute(
        select(idea_tag.c.idea_id, Tag.name)
        .join(Tag, Tag.id == idea_tag.c.tag_id)
        .where(idea_tag.c.idea_id.in_([row.id for row in rows]))
    ):
        tags.setdefault(idea_id, []).append(name)
    docs = {}
    for row in rows:
        body = search.plain_text(row.body)
        activity = max(d for d in (row.created_at, row.status_changed_at, row.edited_at) if d)
        docs[row.id] = {
            "key": f"idea:{row.id}",
            "type": "idea",
            "kind": "idea",
            "title": row.title,
            "question": body,
            "body": body,
            "answer": "",
            "tags": ",".join(sorted(tags.get(row.id, []))),
            "space": str(row.space_id),
            # "Solved" for an idea: the company delivered it.
            "solved": "1" if row.status == "delivered" else "0",
            # Hidden (or held for approval): only moderators and the author find it.
            "hidden": "1" if row.hidden_at else "0",
            "author": str(row.author_id),
            "created": row.created_at,
            "activity": activity,
            "preview": body[: search.PREVIEW_CHARS],
            "answer_preview": "",
        }
    return docs


def _rows(member, ids: list[int]) -> dict[int, Idea]:
    ideas = db.session.scalars(
        select(Idea)
        .where(Idea.id.in_(ids), Idea.merged_into_id.is_(None), visible_idea_filter(member))
        .options(selectinload(Idea.tags))
    )
    return {idea.id: idea for idea in ideas}


def _hit(idea: Idea) -> search.Hit:
    return search.Hit(
        type="idea",
        id=idea.id,
        title=idea.title,
        kind="idea",
        solved=idea.status == "delivered",
        space=idea.area.space,
        tags=idea.tag_names,
        activity=idea.status_changed_at or idea.created_at,
        accepted_post_id=None,
        endpoint="ideas.idea",
        url_values={"idea_id": idea.id},
    )


IDEA_DOCUMENTS = search.DocType(
    name="idea",
    model=Idea,
    load=_load,
    batches=lambda session: search.id_batches(session, Idea.id),
    count=lambda session: session.scalar(select(func.count(Idea.id))) or 0,
    rows=_rows,
    hit=_hit,
)


def on_idea_changed(idea, **_):
    search.queue_safely(lambda: [search.doc_key(idea)])


def on_idea_merged(duplicate, into, **_):
    # The duplicate leaves the index; the idea kept gains its votes.
    search.queue_safely(lambda: [search.doc_key(duplicate), search.doc_key(into)])


def connect_subscribers() -> None:
    search.register_type(IDEA_DOCUMENTS)
    for signal in (
        events.idea_submitted,
        events.idea_status_changed,
        events.idea_hidden,
        events.idea_restored,
    ):
        signal.connect(on_idea_changed)
    events.idea_merged.connect(on_idea_merged)
