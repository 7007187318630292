"""Visibility compiled into SQL: which image rows a caller may see.

Mirrors Glance §2.3. The Python rule ``get_image`` in glimpse.policy.rules must agree with
:func:`get_scope` for every persona; tests/policy/test_visibility.py checks it.

Scopes are SQL fragments (:data:`Frag`: text with ``?`` placeholders and their values) over
the ``images`` table, so that the direct-driver hot paths and ORM queries (through
:func:`clause`) share one definition.

On SQLite the alternatives of an OR scope are written ``+images.col`` (SQLite's documented way
to keep a term from driving an index). Otherwise its planner, which keeps only average
selectivities, answered the default listing by collecting every visible row through three
indexes and sorting them all (52 ms at 20k images) instead of walking the sort index and
stopping after one page (0.6 ms). PostgreSQL's planner weighs both with real statistics.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import TextClause, text

from glimpse.core.context import Principal

Frag = tuple[str, tuple[Any, ...]]

TRUE: Frag = ("1 = 1", ())
FALSE: Frag = ("1 = 0", ())
READER_ROLES = frozenset({"reader", "member", "admin"})


def _c(name: str, sqlite: bool) -> str:
    """A column in an OR alternative: not index-driving on SQLite (see the module doc)."""
    return f"+images.{name}" if sqlite else f"images.{name}"


def _member_of(project: str, statuses: tuple[str, ...] | None) -> Frag:
    sql = "EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = images.id AND m.member = ?"
    if statuses is None:
        return sql + ")", (project,)
    marks = ", ".join("?" * len(statuses))
    return f"{sql} AND m.status IN ({marks}))", (project, *statuses)


def _shared_with(
    project: str | None, statuses: tuple[str, ...] | None, sqlite: bool = False
) -> Frag:
    if project is None:
        return FALSE
    sql, params = _member_of(project, statuses)
    return f"({_c('visibility', sqlite)} = 'shared' AND {sql})", params


def _own(project: str | None, sqlite: bool = False) -> Frag:
    return (f"{_c('owner', sqlite)} = ?", (project,)) if project is not None else FALSE


def any_of(*frags: Frag) -> Frag:
    """``(a OR b ...)``."""
    return "(" + " OR ".join(f[0] for f in frags) + ")", sum((f[1] for f in frags), ())


def all_of(*frags: Frag) -> Frag:
    """``(a AND b ...)``."""
    return "(" + " AND ".join(f[0] for f in frags) + ")", sum((f[1] for f in frags), ())


def _visibility(value: str, sqlite: bool = False) -> Frag:
    return f"{_c('visibility', sqlite)} = ?", (value,)


def _reads(p: Principal) -> bool:
    """Every visibility grant needs at least the reader role (Glance's ``role:reader``)."""
    return bool(p.roles & READER_ROLES)


def get_scope(p: Principal) -> Frag:
    """Rows a caller may fetch directly (GET): any member status counts."""
    if p.is_admin:
        return TRUE
    if not _reads(p):
        return FALSE
    return any_of(
        ("images.visibility IN ('public', 'community')", ()),
        _own(p.project_id),
        _shared_with(p.project_id, None),
    )


def list_scope(
    p: Principal, visibility: str | None, member_status: str = "accepted", *, sqlite: bool = False
) -> Frag:
    """Rows a caller's list returns for a ``visibility`` filter (``None``: the default list).
    ``sqlite`` writes OR alternatives for SQLite's planner (module docstring)."""
    statuses = None if member_status == "all" else (member_status,)
    project = p.project_id
    if not _reads(p):
        return FALSE
    if visibility in ("public", "community"):
        return _visibility(visibility)
    if visibility == "private":
        return all_of(_visibility("private"), TRUE if p.is_admin else _own(project))
    if visibility == "shared":
        mine = any_of(_own(project, sqlite), _shared_with(project, statuses, sqlite))
        return all_of(_visibility("shared"), TRUE if p.is_admin else mine)
    if p.is_admin:
        if visibility == "all":
            return TRUE
        return any_of((f"{_c('visibility', sqlite)} != 'community'", ()), _own(project, sqlite))
    base = any_of(
        _visibility("public", sqlite),
        _own(project, sqlite),
        _shared_with(project, statuses, sqlite),
    )
    if visibility == "all":
        return any_of(base, _visibility("community", sqlite))
    return base


def clause(frag: Frag) -> TextClause:
    """A fragment as an ORM/Core ``WHERE`` clause (named binds instead of ``?``)."""
    sql, params = frag
    parts = sql.split("?")
    named = parts[0] + "".join(f":scope_{i}{part}" for i, part in enumerate(parts[1:]))
    return text(named).bindparams(**{f"scope_{i}": v for i, v in enumerate(params)})
