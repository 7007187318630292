"""metadata definitions catalog (metadefs)

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-29 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def _times() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def _namespace_id() -> sa.Column:
    return sa.Column(
        "namespace_id",
        sa.Integer(),
        sa.ForeignKey("metadef_namespaces.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "metadef_namespaces",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("namespace", sa.String(80), nullable=False, unique=True),
        sa.Column("display_name", sa.String(80), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("visibility", sa.String(32), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(255), nullable=True),
        *_times(),
    )
    op.create_index("ix_metadef_namespaces_owner", "metadef_namespaces", ["owner"])
    op.create_table(
        "metadef_resource_types",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("protected", sa.Boolean(), nullable=False),
        *_times(),
    )
    op.create_table(
        "metadef_namespace_resource_types",
        sa.Column("id", sa.Integer(), primary_key=True),
        _namespace_id(),
        sa.Column(
            "resource_type_id",
            sa.Integer(),
            sa.ForeignKey("metadef_resource_types.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("prefix", sa.String(80), nullable=True),
        sa.Column("properties_target", sa.String(80), nullable=True),
        *_times(),
        sa.UniqueConstraint("namespace_id", "resource_type_id"),
    )
    op.create_index(
        "ix_metadef_namespace_resource_types_resource_type_id",
        "metadef_namespace_resource_types",
        ["resource_type_id"],
    )
    op.create_table(
        "metadef_objects",
        sa.Column("id", sa.Integer(), primary_key=True),
        _namespace_id(),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("required", sa.JSON(), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=False),
        *_times(),
        sa.UniqueConstraint("namespace_id", "name"),
    )
    op.create_table(
        "metadef_properties",
        sa.Column("id", sa.Integer(), primary_key=True),
        _namespace_id(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("json_schema", sa.JSON(), nullable=False),
        *_times(),
        sa.UniqueConstraint("namespace_id", "name"),
    )
    op.create_table(
        "metadef_tags",
        sa.Column("id", sa.Integer(), primary_key=True),
        _namespace_id(),
        sa.Column("name", sa.String(255), nullable=False),
        *_times(),
        sa.UniqueConstraint("namespace_id", "name"),
    )


def downgrade() -> None:
    for table in (
        "metadef_tags",
        "metadef_properties",
        "metadef_objects",
        "metadef_namespace_resource_types",
        "metadef_resource_types",
        "metadef_namespaces",
    ):
        op.drop_table(table)
