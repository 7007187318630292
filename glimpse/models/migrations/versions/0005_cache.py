"""image cache catalog

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 07:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cached_images",
        sa.Column("node", sa.String(length=255), nullable=False),
        sa.Column("image_id", sa.String(length=36), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("last_accessed", sa.DateTime(), nullable=False),
        sa.Column("last_modified", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("node", "image_id"),
    )
    with op.batch_alter_table("cached_images", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cached_images_node_state_access", ["node", "state", "last_accessed"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cached_images", schema=None) as batch_op:
        batch_op.drop_index("ix_cached_images_node_state_access")
    op.drop_table("cached_images")
