"""hidden posts by author, for shared pages

Revision ID: shared0001
Revises: analytics0001
Create Date: 2026-11-23 19:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "shared0001"
down_revision = "analytics0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_community_post_hidden_author",
        "community_post",
        ["author_id"],
        sqlite_where=sa.text("is_hidden = 1"),
        postgresql_where=sa.text("is_hidden = true"),
    )


def downgrade():
    op.drop_index("ix_community_post_hidden_author", table_name="community_post")
