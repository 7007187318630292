"""Authorization rules named after Glance's policy actions.

A rule is a small predicate over ``(principal, target)``. Rules are written as expressions over
named *checks* (``"admin or owner_member"``); a profile maps every action to an expression and
operators may re-point single actions in config (``auth.policy_overrides``). Unknown actions
are denied: nothing is allowed unless a rule says so.

Role implication follows Keystone's defaults: ``admin`` implies ``member`` implies ``reader``.

Scoping ("which rows may you see") is compiled into SQL by glimpse.models.scope; the checks
here answer "may you do this to that" in resolvers. tests/policy checks that both agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from glimpse.core.context import Principal
from glimpse.core.errors import Forbidden, InvalidInput


@dataclass(frozen=True)
class Target:
    """What an action is applied to. Unused fields stay ``None``.

    ``member_status`` is the caller's membership on a shared image (``None``: not a member).
    ``member_id`` is the project a member-record action is about.
    """

    owner: str | None = None
    visibility: str | None = None
    member_status: str | None = None
    member_id: str | None = None


Check = Callable[[Principal, Target], bool]


def _reader(p: Principal) -> bool:
    return bool(p.roles & {"reader", "member", "admin"})


def _member(p: Principal) -> bool:
    return bool(p.roles & {"member", "admin"})


def _own(p: Principal, t: Target) -> bool:
    return p.project_id is not None and p.project_id == t.owner


CHECKS: Final[dict[str, Check]] = {
    "admin": lambda p, t: p.is_admin,
    "service": lambda p, t: p.has_role("service"),
    "reader": lambda p, t: _reader(p),
    "member": lambda p, t: _member(p),
    "anyone": lambda p, t: p.authenticated,
    "nobody": lambda p, t: False,
    "owner_reader": lambda p, t: _reader(p) and _own(p, t),
    "owner_member": lambda p, t: _member(p) and _own(p, t),
    "image_member": lambda p, t: t.member_status is not None and p.project_id is not None,
    "public_or_community": lambda p, t: t.visibility in ("public", "community"),
    "is_member_project": lambda p, t: p.project_id is not None and p.project_id == t.member_id,
    "has_project": lambda p, t: p.project_id is not None,
}

_SEES = "owner_reader or reader and image_member or reader and public_or_community"
_USES = "owner_member or member and image_member or member and public_or_community"
_OWNER_WRITE = "admin or owner_member"

GLANCE: Final[dict[str, str]] = {
    "get_image": f"admin or {_SEES}",
    "get_images": "admin or anyone",
    "download_image": f"admin or {_USES}",
    "add_image": "admin or owner_member",
    "modify_image": _OWNER_WRITE,
    "delete_image": _OWNER_WRITE,
    "upload_image": _OWNER_WRITE,
    "deactivate": _OWNER_WRITE,
    "reactivate": _OWNER_WRITE,
    "publicize_image": "admin",
    "communitize_image": _OWNER_WRITE,
    "set_image_owner": "admin",
    "add_member": _OWNER_WRITE,
    "delete_member": _OWNER_WRITE,
    "get_member": "admin or owner_reader or reader and is_member_project",
    "get_members": "admin or owner_reader or reader and image_member",
    "modify_member": "admin or member and is_member_project",
    "copy_image": "admin",
    "resize_image": _OWNER_WRITE,
    "get_image_events": f"admin or {_SEES}",
    "get_task": "admin or owner_reader",
    "get_tasks": "admin or reader and has_project",
    "add_task": "admin",
    "tasks_api_access": "admin",
    "manage_image_cache": "admin",
    "stores_info_detail": "admin or service",
    "delete_image_location": "admin",
    # Metadefs: reads of public namespaces and the caller's project's own (the SQL scope in
    # glimpse.resolvers.metadefs agrees); every write is admin-only, as in Glance.
    "get_metadef_namespace": "admin or owner_reader or reader and public_or_community",
    "get_metadef_namespaces": "admin or reader",
    "get_metadef_resource_types": "admin or reader",
    "modify_metadef": "admin",
    "get_usage": "admin or reader and has_project",
}

ADMIN_ONLY: Final[dict[str, str]] = {
    **GLANCE,
    **{
        action: "admin"
        for action in (
            "add_image",
            "modify_image",
            "delete_image",
            "upload_image",
            "deactivate",
            "reactivate",
            "communitize_image",
            "add_member",
            "delete_member",
            "resize_image",
        )
    },
}

PROFILES: Final[dict[str, Mapping[str, str]]] = {"glance": GLANCE, "admin-only": ADMIN_ONLY}


def compile_rule(expression: str) -> Check:
    """Compile ``"a and b or c"`` (``and`` binds tighter) into a predicate."""
    alternatives = []
    for alt in expression.split(" or "):
        names = [n.strip() for n in alt.split(" and ")]
        unknown = [n for n in names if n not in CHECKS]
        if unknown or not names:
            raise InvalidInput(f"unknown policy check(s) {unknown} in rule '{expression}'")
        alternatives.append(tuple(CHECKS[n] for n in names))

    def rule(p: Principal, t: Target) -> bool:
        return any(all(check(p, t) for check in alt) for alt in alternatives)

    return rule


class Policy:
    """The active rule set: a profile plus operator overrides, compiled once."""

    def __init__(self, profile: str = "glance", overrides: Mapping[str, str] | None = None) -> None:
        if profile not in PROFILES:
            raise InvalidInput(f"unknown policy profile '{profile}' (known: {', '.join(PROFILES)})")
        rules = {**PROFILES[profile], **(overrides or {})}
        self._rules = {action: compile_rule(expr) for action, expr in rules.items()}

    def allows(self, action: str, principal: Principal, target: Target | None = None) -> bool:
        """Whether ``principal`` may perform ``action`` on ``target`` (unknown action: no)."""
        rule = self._rules.get(action)
        return rule is not None and rule(principal, target or Target())

    def enforce(self, action: str, principal: Principal, target: Target | None = None) -> None:
        """Raise :class:`Forbidden` unless allowed. Callers hide invisible targets first."""
        if not self.allows(action, principal, target):
            raise Forbidden(f"You are not authorized to perform '{action}'")
