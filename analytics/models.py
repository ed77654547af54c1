"""What analytics stores of its own: who may see the dashboard, and a daily
snapshot of every member's engagement level and social value (the figures other
domains keep only as "now"), so movements over a period can be counted."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, DateTime, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from community.extensions import db
from community.models import utcnow


class Setting(db.Model):
    """One row per setting, e.g. ``dashboard_roles`` -> ["support_agent", ...]."""

    __tablename__ = "analytics_setting"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[list | dict] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(Integer)


class EngagementSnapshot(db.Model):
    """A member's engagement level and social value as of a UTC day."""

    __tablename__ = "analytics_engagement_snapshot"
    __table_args__ = (Index("ix_analytics_engagement_snapshot_member", "member_id", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    social_value: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    # The breakdown behind the social value (docs/reputation.md), as of the day.
    accepted_answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    solution_views: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    deflections: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    kudos_received: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ideas_delivered: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    advisory_posts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
