"""statistics on (name, value) of image properties, for PostgreSQL's planner

A property filter such as ``os_distro=ubuntu`` matches rows where name and value go together;
without statistics on the pair, PostgreSQL multiplies their separate selectivities,
estimated a common value at an eighth of its rows, and started every such page from the
property index (then sorted) instead of walking the sort index. Multivariate statistics
(functional dependencies and most-common pairs) let it tell common values from rare ones.
SQLite has no equivalent; glimpse.models.image_sql.selective_filters covers it there.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE STATISTICS IF NOT EXISTS image_properties_name_value (dependencies, mcv) "
            "ON name, value FROM image_properties"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS image_properties_name_value")
