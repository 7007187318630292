"""Alembic environment: always runs on a connection handed in by glimpse.models.migrate."""

from __future__ import annotations

from alembic import context

from glimpse.models import tables  # noqa: F401 - registers every table on the metadata
from glimpse.models.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through 'glimpse db upgrade'")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
