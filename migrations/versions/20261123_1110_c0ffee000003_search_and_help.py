"""search and help: the search index queue, deflections and support cases

Revision ID: c0ffee000003
Revises: c0ffee000004 (the ideas demand summary, which was committed first)
Create Date: 2026-11-23 11:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c0ffee000003"
down_revision = "c0ffee000004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "community_search_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_key", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "action IN ('index', 'remove')", name=op.f("ck_community_search_queue_action")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_search_queue")),
    )
    op.create_table(
        "community_deflection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("visitor_key", sa.String(length=64), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["community_member.id"],
            name=op.f("fk_community_deflection_member_id_community_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["community_thread.id"],
            name=op.f("fk_community_deflection_thread_id_community_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_deflection")),
        sa.UniqueConstraint(
            "visitor_key",
            "thread_id",
            "day",
            name=op.f("uq_community_deflection_visitor_key_thread_id_day"),
        ),
    )
    with op.batch_alter_table("community_deflection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_community_deflection_day"), ["day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_community_deflection_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_community_deflection_thread_id"), ["thread_id"], unique=False
        )

    op.create_table(
        "community_support_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("visitor_key", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending_sync', 'open', 'pending', 'solved', 'closed')",
            name=op.f("ck_community_support_case_status"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["community_member.id"],
            name=op.f("fk_community_support_case_member_id_community_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["community_thread.id"],
            name=op.f("fk_community_support_case_thread_id_community_thread"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_support_case")),
        sa.UniqueConstraint("reference", name=op.f("uq_community_support_case_reference")),
    )
    with op.batch_alter_table("community_support_case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_community_support_case_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_community_support_case_member_id"), ["member_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("community_support_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_support_case_member_id"))
        batch_op.drop_index(batch_op.f("ix_community_support_case_created_at"))

    op.drop_table("community_support_case")
    with op.batch_alter_table("community_deflection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_deflection_thread_id"))
        batch_op.drop_index(batch_op.f("ix_community_deflection_member_id"))
        batch_op.drop_index(batch_op.f("ix_community_deflection_day"))

    op.drop_table("community_deflection")
    op.drop_table("community_search_queue")
