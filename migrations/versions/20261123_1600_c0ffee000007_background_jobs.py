"""background jobs: the schedule and leases of the background runners; indexes for
unanswered questions and accepted answers

Revision ID: c0ffee000007
Revises: ad0150000001
Create Date: 2026-11-23 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c0ffee000007"
down_revision = "ad0150000001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "community_background_job",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("next_run_at", sa.DateTime(), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_started_at", sa.DateTime(), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(), nullable=True),
        sa.Column("last_result", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_community_background_job")),
    )
    op.create_index(
        op.f("ix_community_thread_accepted_post_id"), "community_thread", ["accepted_post_id"]
    )
    unanswered = sa.text("kind = 'question' AND reply_count = 0 AND accepted_post_id IS NULL")
    op.create_index(
        "ix_community_thread_unanswered",
        "community_thread",
        ["created_at"],
        sqlite_where=unanswered,
        postgresql_where=unanswered,
    )


def downgrade():
    op.drop_index("ix_community_thread_unanswered", table_name="community_thread")
    op.drop_index(op.f("ix_community_thread_accepted_post_id"), table_name="community_thread")
    op.drop_table("community_background_job")
