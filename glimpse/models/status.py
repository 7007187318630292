"""Status machines as data (Glance's ``valid_state_targets``), checked in one place."""

from __future__ import annotations

from typing import Final

from glimpse.core.errors import Conflict

IMAGE_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "queued": frozenset({"saving", "uploading", "importing", "active", "deleted"}),
    "saving": frozenset({"active", "killed", "deleted", "queued"}),
    "uploading": frozenset({"importing", "queued", "deleted"}),
    "importing": frozenset({"active", "deleted", "queued"}),
    "active": frozenset({"pending_delete", "deleted", "deactivated"}),
    "deactivated": frozenset({"active", "deleted"}),
    "killed": frozenset({"deleted"}),
    "pending_delete": frozenset({"deleted", "active"}),
    "deleted": frozenset(),
}
IMAGE_STATUSES: Final = tuple(IMAGE_TRANSITIONS)

# Leaving these toward data-bearing states requires disk_format and container_format.
NEEDS_FORMATS_FROM: Final = frozenset({"queued", "uploading"})
NEEDS_FORMATS_TO: Final = frozenset({"saving", "active", "importing"})

TASK_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "pending": frozenset({"processing", "failure"}),
    "processing": frozenset({"success", "failure", "pending"}),
    "success": frozenset(),
    "failure": frozenset(),
}

MEMBER_STATUSES: Final = ("pending", "accepted", "rejected")
VISIBILITIES: Final = ("public", "community", "shared", "private")
DISK_FORMATS: Final = (
    "ami",
    "ari",
    "aki",
    "vhd",
    "vhdx",
    "vmdk",
    "raw",
    "qcow2",
    "vdi",
    "iso",
    "ploop",
)
CONTAINER_FORMATS: Final = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")


def can_transition(current: str, target: str) -> bool:
    return target in IMAGE_TRANSITIONS.get(current, frozenset())


def check_transition(current: str, target: str) -> None:
    """Raise :class:`Conflict` unless ``current -> target`` is allowed."""
    if not can_transition(current, target):
        raise Conflict(f"Image status transition from '{current}' to '{target}' is not allowed")
