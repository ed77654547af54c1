"""analytics: dashboard settings and the daily engagement snapshot; posts indexed by
creation time (activity over a period)

Revision ID: analytics0001
Revises: c0ffee000007
Create Date: 2026-11-23 16:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "analytics0001"
down_revision = "c0ffee000007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "analytics_setting",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_analytics_setting")),
    )
    op.create_table(
        "analytics_engagement_snapshot",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("social_value", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("accepted_answers", sa.Integer(), server_default="0", nullable=False),
        sa.Column("solution_views", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deflections", sa.Integer(), server_default="0", nullable=False),
        sa.Column("kudos_received", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ideas_delivered", sa.Integer(), server_default="0", nullable=False),
        sa.Column("advisory_posts", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "member_id", name=op.f("pk_analytics_engagement_snapshot")),
    )
    with op.batch_alter_table("analytics_engagement_snapshot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_engagement_snapshot_member", ["member_id", "day"], unique=False
        )

    with op.batch_alter_table("community_post", schema=None) as batch_op:
        batch_op.create_index("ix_community_post_created", ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("community_post", schema=None) as batch_op:
        batch_op.drop_index("ix_community_post_created")
    with op.batch_alter_table("analytics_engagement_snapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_engagement_snapshot_member")
    op.drop_table("analytics_engagement_snapshot")
    op.drop_table("analytics_setting")
