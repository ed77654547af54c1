"""The only writers of analytics' own tables: the dashboard's audience (a setting
admins change) and the daily engagement snapshot. Everything else in analytics
only reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select, text

from community import access, cache
from community.errors import Invalid
from community.extensions import db
from community.models import STAFF_ROLES, Member, utcnow
from reputation import analytics as reputation

from .models import EngagementSnapshot, Setting

# "Community manager" is the admin role here; moderators run the community day to day.
DEFAULT_DASHBOARD_ROLES = ("support_agent", "product_manager", "moderator")
# Admins always see the dashboard; these are the staff roles they may add.
CONFIGURABLE_ROLES = tuple(r for r in STAFF_ROLES if r != "admin")
SNAPSHOT_BATCH = 500
# What the snapshot keeps of each member's social value (reputation's SocialValue fields).
BREAKDOWN = ("accepted_answers", "solution_views", "deflections", "kudos_received",
             "ideas_delivered", "advisory_posts")  # fmt: skip
ROLES_CACHE_KEY = "analytics:dashboard-roles"
ROLES_CACHE_SECONDS = 60


def dashboard_roles() -> list[str]:
    # Every staff page asks (the navigation's link): kept in the shared cache for a
    # minute rather than a query per page. Saving the setting replaces it at once.
    cached = cache.store.get(ROLES_CACHE_KEY)
    if isinstance(cached, list):
        return cached
    row = db.session.get(Setting, "dashboard_roles")
    roles = list(DEFAULT_DASHBOARD_ROLES)
    if row is not None and isinstance(row.value, list):
        roles = [r for r in row.value if r in CONFIGURABLE_ROLES]
    cache.store.set(ROLES_CACHE_KEY, roles, timeout=ROLES_CACHE_SECONDS)
    return roles


def can_view_dashboard(member) -> bool:
    # Only staff roles can be chosen: spare everyone else the setting's query (every page asks).
    if not getattr(member, "is_authenticated", False) or not member.is_staff:
        return False
    return access.can_view_analytics(member, dashboard_roles())


def set_dashboard_roles(roles, *, by) -> list[str]:
    """Admins choose which roles (besides admin) see the dashboard."""
    access.require(access.can_configure_analytics(by), hide=True)
    if not isinstance(roles, list | tuple) or not all(isinstance(r, str) for r in roles):
        raise Invalid("Choose roles from the list.", fields={"roles": "Not a list of roles."})
    unknown = sorted(set(roles) - set(CONFIGURABLE_ROLES))
    if unknown:
        raise Invalid("Choose roles from the list.", fields={"roles": f"Unknown: {unknown[0]}."})
    chosen = [r for r in CONFIGURABLE_ROLES if r in roles]
    row = db.session.get(Setting, "dashboard_roles") or Setting(key="dashboard_roles")
    row.value = chosen
    row.updated_at = utcnow()
    row.updated_by_id = by.id
    db.session.add(row)
    db.session.commit()
    cache.store.set(ROLES_CACHE_KEY, chosen, timeout=ROLES_CACHE_SECONDS)
    return chosen


def take_snapshot(day: date | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Record every member's engagement level and social value as of ``day``
    (today by default), replacing an earlier snapshot of the same day. Levels and
    values come from reputation's formulas, as they stand when this runs."""
    day = day or utcnow().date()
    levels = reputation.engagement_levels()
    values = reputation.social_values()
    ids = sorted(db.session.scalars(select(Member.id)))
    db.session.execute(delete(EngagementSnapshot).where(EngagementSnapshot.day == day))
    for offset in range(0, len(ids), SNAPSHOT_BATCH):
        batch = ids[offset : offset + SNAPSHOT_BATCH]
        db.session.execute(
            EngagementSnapshot.__table__.insert(),
            [
                {
                    "day": day,
                    "member_id": m,
                    "level": levels.get(m, "aware"),
                    "social_value": values[m].social_value if m in values else Decimal("0"),
                    **{name: getattr(values[m], name) if m in values else 0 for name in BREAKDOWN},
                }
                for m in batch
            ],
        )
        if progress:
            progress(len(batch))
    db.session.commit()
    return len(ids)


def refresh_planner_statistics() -> None:
    """SQLite plans the dashboard's joins well only with table statistics (without
    them it walks every thread of a space instead of a month of deflections by
    date): ANALYZE, bounded to a sample per index so it stays fast. PostgreSQL's
    autovacuum keeps its own statistics."""
    if db.session.get_bind().dialect.name != "sqlite":
        return
    db.session.execute(text("PRAGMA analysis_limit=1000"))
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def record_snapshot(day: date | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Take the day's snapshot, then refresh the planner statistics the dashboard's
    joins need (`analytics snapshot` and the daily job)."""
    count = take_snapshot(day, progress=progress)
    refresh_planner_statistics()
    return count
