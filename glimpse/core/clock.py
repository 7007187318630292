"""Time in one place, so tests can fix it and every layer agrees on UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC with microseconds: what we store (both SQLite and PostgreSQL keep it exactly)."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(dt: datetime | None) -> str | None:
    """Glance's wire format: second precision, ``Z`` suffix."""
    return None if dt is None else dt.isoformat(timespec="seconds") + "Z"  # naive UTC
