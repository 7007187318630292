"""drop the index on images.deleted

It serves no query (almost every row has deleted = false) and, on a database without
statistics, both SQLite and PostgreSQL chose it for the default listing and then sorted
every visible row, so a page cost grew with the catalog.

Revision ID: 0006
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index("ix_images_deleted")


def downgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.create_index("ix_images_deleted", ["deleted"], unique=False)
