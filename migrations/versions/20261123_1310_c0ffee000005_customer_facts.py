"""customer facts from the CRM on the member: tier, account, renewal date, custom fields

Revision ID: c0ffee000005
Revises: c0ffee000003
Create Date: 2026-11-23 13:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c0ffee000005"
down_revision = "c0ffee000003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("community_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tier", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("account_name", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("renewal_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("customer_fields", sa.JSON(), nullable=False, server_default="{}")
        )


def downgrade():
    with op.batch_alter_table("community_member", schema=None) as batch_op:
        batch_op.drop_column("customer_fields")
        batch_op.drop_column("renewal_on")
        batch_op.drop_column("account_name")
        batch_op.drop_column("tier")
