"""single-use signed links

Download links were valid for every request during their minute; each redeemed link id
is now recorded until its expiry, so a link works once.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "used_links",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    with op.batch_alter_table("used_links", schema=None) as batch_op:
        batch_op.create_index("ix_used_links_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("used_links", schema=None) as batch_op:
        batch_op.drop_index("ix_used_links_expires_at")
    op.drop_table("used_links")
