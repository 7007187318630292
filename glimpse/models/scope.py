"""Visibility compiled into SQL: which image rows a caller may see.

Mirrors Glance §2.3. The Python rule ``get_image`` in glimpse.policy.rules must agree with
:func:`get_scope` for every persona; tests/policy/test_scope_agreement.py checks it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from glimpse.core.context import Principal
from glimpse.models.tables import Image, ImageMember, table_of

I = table_of(Image).c  # noqa: E741 - short alias keeps predicates readable
M = table_of(ImageMember).c


def _member_of(project: str, statuses: tuple[str, ...] | None) -> ColumnElement[bool]:
    cond = and_(M.image_id == I.id, M.member == project)
    if statuses is not None:
        cond = and_(cond, M.status.in_(statuses))
    return exists(select(M.image_id).where(cond))


def _shared_with(project: str | None, statuses: tuple[str, ...] | None) -> ColumnElement[bool]:
    if project is None:
        return false()
    return and_(I.visibility == "shared", _member_of(project, statuses))


def _own(project: str | None) -> ColumnElement[bool]:
    return I.owner == project if project is not None else false()


def get_scope(p: Principal) -> ColumnElement[bool]:
    """Rows a caller may fetch directly (GET): any member status counts."""
    if p.is_admin:
        return true()
    return or_(
        I.visibility.in_(("public", "community")),
        _own(p.project_id),
        _shared_with(p.project_id, None),
    )


def list_scope(
    p: Principal, visibility: str | None, member_status: str = "accepted"
) -> ColumnElement[bool]:
    """Rows a caller's list returns for a ``visibility`` filter (``None``: the default list)."""
    statuses = None if member_status == "all" else (member_status,)
    project = p.project_id
    if visibility == "public":
        return I.visibility == "public"
    if visibility == "community":
        return I.visibility == "community"
    if visibility == "private":
        return and_(I.visibility == "private", true() if p.is_admin else _own(project))
    if visibility == "shared":
        mine = or_(_own(project), _shared_with(project, statuses))
        return and_(I.visibility == "shared", true() if p.is_admin else mine)
    if p.is_admin:
        if visibility == "all":
            return true()
        return or_(I.visibility != "community", _own(project))
    base = or_(I.visibility == "public", _own(project), _shared_with(project, statuses))
    if visibility == "all":
        return or_(base, I.visibility == "community")
    return base
