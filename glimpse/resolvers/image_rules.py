"""Which image attributes exist, which are writable, and what values they take.

One table of facts used by create and update alike, whichever API the request came from.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Final

from glimpse.core.errors import Conflict, Forbidden, InvalidInput
from glimpse.models.status import CONTAINER_FORMATS, DISK_FORMATS, VISIBILITIES
from glimpse.resolvers import text

WRITABLE: Final = frozenset(
    {
        "name",
        "visibility",
        "protected",
        "os_hidden",
        "min_disk",
        "min_ram",
        "disk_format",
        "container_format",
        "owner",
        "tags",
    }
)
READ_ONLY: Final = frozenset(
    {
        "id",
        "status",
        "checksum",
        "size",
        "virtual_size",
        "created_at",
        "updated_at",
        "os_hash_algo",
        "os_hash_value",
        "direct_url",
        "self",
        "file",
        "schema",
    }
)
# Rendered by the API but never settable; in a create body Glance calls these read-only.
COMPUTED: Final = frozenset({"stores", "locations"})
RESERVED: Final = frozenset({"location", "deleted", "deleted_at"})
BASE: Final = WRITABLE | READ_ONLY | COMPUTED
HIDDEN_PROPERTIES: Final = frozenset({"os_glance_stage_host", "os_glance_hash_op_host"})
FORMATS_LOCKED_AFTER: Final = frozenset({"queued", "importing"})
_UUID = re.compile(
    r"^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"
)


def is_reserved(name: str) -> bool:
    return name in RESERVED or name.startswith("os_glance")


def check_writable(name: str, *, creating: bool) -> None:
    """Refuse read-only and reserved attributes (403), as Glance does."""
    if name in READ_ONLY or (creating and name in COMPUTED):
        raise Forbidden(f"Attribute '{name}' is read-only.")
    if is_reserved(name):
        raise Forbidden(f"Attribute '{name}' is reserved.")


def validate_id(value: Any) -> str:
    if not isinstance(value, str) or not _UUID.match(value):
        raise InvalidInput(f"Invalid image id: {value!r}")
    return str(uuid.UUID(value))


def validate_base(name: str, value: Any) -> Any:
    """Type- and range-check one base attribute; returns the normalised value."""
    if name == "name":
        return _opt_str(name, value, 255)
    if name == "owner":
        return _opt_str(name, value, 255)
    if name in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise InvalidInput(f"Invalid value for '{name}': {value!r} is not a boolean")
        return value
    if name in ("min_disk", "min_ram"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"Invalid value for '{name}': expected an integer >= 0")
        if value > 2**31 - 1:
            raise InvalidInput(f"Invalid value for '{name}': too large")
        return value
    if name == "visibility":
        return _enum(name, value, VISIBILITIES, nullable=False)
    if name == "disk_format":
        return _enum(name, value, DISK_FORMATS, nullable=True)
    if name == "container_format":
        return _enum(name, value, CONTAINER_FORMATS, nullable=True)
    if name == "tags":
        return validate_tags(value)
    raise InvalidInput(f"Unknown attribute '{name}'")


def validate_tags(value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        raise InvalidInput("Invalid value for 'tags': expected a list of strings")
    seen: dict[str, None] = {}
    for tag in value:
        seen[validate_tag(tag)] = None
    return list(seen)


def validate_tag(tag: Any) -> str:
    if not isinstance(tag, str) or not tag or len(tag) > 255:
        raise InvalidInput("Invalid tag: expected a non-empty string of at most 255 characters")
    text.check(tag, "tag")
    return tag


def validate_property(name: Any, value: Any) -> tuple[str, str]:
    if not isinstance(name, str) or not name or len(name) > 255:
        raise InvalidInput("Invalid property name: expected 1 to 255 characters")
    text.check(name, "property name")
    if not isinstance(value, str):
        raise InvalidInput(f"Invalid value for property '{name}': expected a string")
    if len(value) > 65535:
        raise InvalidInput(f"Invalid value for property '{name}': too long")
    text.check(value, f"value for property '{name}'")
    return name, value


def check_formats_mutable(status: str, name: str) -> None:
    if name in ("disk_format", "container_format") and status not in FORMATS_LOCKED_AFTER:
        raise Forbidden(f"Attribute '{name}' can only be changed while the image is queued.")


def _opt_str(name: str, value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(f"Invalid value for '{name}': expected a string of at most {limit}")
    text.check(value, f"value for '{name}'")
    return value


def _enum(name: str, value: Any, allowed: tuple[str, ...], *, nullable: bool) -> str | None:
    if value is None and nullable:
        return None
    if value not in allowed:
        raise InvalidInput(f"Invalid value for '{name}': {value!r} (allowed: {', '.join(allowed)})")
    return str(value)


def missing_property(name: str) -> Conflict:
    return Conflict(f"Property {name} does not exist.")
