"""the accepted answer's foreign key on PostgreSQL

The foundation created community_thread before community_post, so this key was
declared use_alter, which op.create_table leaves out: SQLite got it inline,
PostgreSQL never did. Add it where it is missing.

Revision ID: c0ffee000006
Revises: crmbridge0001
Create Date: 2026-11-23 14:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c0ffee000006"
down_revision = "crmbridge0001"
branch_labels = None
depends_on = None

NAME = "fk_community_thread_accepted_post_id_community_post"


def _has_key() -> bool:
    keys = sa.inspect(op.get_bind()).get_foreign_keys("community_thread")
    return any(key["constrained_columns"] == ["accepted_post_id"] for key in keys)


def upgrade():
    if op.get_bind().dialect.name != "sqlite" and not _has_key():
        op.create_foreign_key(
            NAME, "community_thread", "community_post", ["accepted_post_id"], ["id"],
            ondelete="SET NULL",
        )  # fmt: skip


def downgrade():
    if op.get_bind().dialect.name != "sqlite" and _has_key():
        op.drop_constraint(NAME, "community_thread", type_="foreignkey")
