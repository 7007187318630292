"""``/v2/schemas/*``: the JSON-schema documents Glance clients download and validate against.

python-glanceclient builds warlock models from ``image`` and ``member`` and validates every
image body it creates or updates against ``image``; its CLI turns the writable properties of
``image`` into ``--flags``. The shapes therefore follow Glance exactly: ``image`` is permissive
(extra keys must be strings), ``member``/``task`` are the "minimal" form (name + properties),
collections wrap their item schema. The documents are static and do not depend on the caller.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from glimpse.models.status import CONTAINER_FORMATS, DISK_FORMATS, IMAGE_STATUSES, MEMBER_STATUSES
from glimpse.rest_compat.responses import JSONResponse

UUID_PATTERN: Final = (
    "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"
)
# Glance's order of statuses in the schema enum; any status we add later is appended.
_STATUS_ORDER = (
    "queued",
    "saving",
    "active",
    "killed",
    "deleted",
    "uploading",
    "importing",
    "pending_delete",
    "deactivated",
)


def _ro(kind: Any, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "readOnly": True, "description": text, **extra}


def _rw(kind: Any, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "readOnly": False, "description": text, **extra}


def _location_item() -> dict[str, Any]:
    validation = {
        "description": "Hashes the stored data must match (used when adding a location).",
        "type": "object",
        "writeOnly": True,
        "additionalProperties": False,
        "properties": {
            "checksum": {"type": "string", "minLength": 32, "maxLength": 32},
            "os_hash_algo": {"type": "string", "maxLength": 64},
            "os_hash_value": {"type": "string", "maxLength": 128},
        },
        "required": ["os_hash_algo", "os_hash_value"],
    }
    return {
        "type": "object",
        "properties": {
            "url": {"type": "string", "maxLength": 255},
            "metadata": {"type": "object"},
            "validation_data": validation,
        },
        "required": ["url", "metadata"],
    }


def image_properties() -> dict[str, Any]:
    """The base properties of an image, typed as we render them (nullable ones accept null)."""
    statuses = [s for s in _STATUS_ORDER if s in IMAGE_STATUSES]
    statuses += [s for s in IMAGE_STATUSES if s not in statuses]
    opt_str: list[str] = ["null", "string"]
    return {
        "id": {
            "type": "string",
            "description": "Image identifier (UUID).",
            "pattern": UUID_PATTERN,
        },
        "name": _rw(opt_str, "Human-readable name; not unique.", maxLength=255),
        "status": _ro("string", "Lifecycle state of the image.", enum=statuses),
        "visibility": _rw(
            "string", "Who may see the image.", enum=["community", "public", "private", "shared"]
        ),
        "protected": _rw("boolean", "A protected image cannot be deleted."),
        "os_hidden": _rw("boolean", "Hidden images are left out of the default list."),
        "checksum": _ro(opt_str, "MD5 of the image data.", maxLength=32),
        "os_hash_algo": _ro(opt_str, "Algorithm of os_hash_value.", maxLength=64),
        "os_hash_value": _ro(opt_str, "Secure hash of the image data.", maxLength=128),
        "owner": _rw(opt_str, "Project owning the image.", maxLength=255),
        "size": _ro(["null", "integer"], "Size of the stored data in bytes."),
        "virtual_size": _ro(["null", "integer"], "Virtual size of the disk in bytes."),
        "container_format": _rw(
            opt_str, "Container format of the data.", enum=[None, *CONTAINER_FORMATS]
        ),
        "disk_format": _rw(opt_str, "Disk format of the data.", enum=[None, *DISK_FORMATS]),
        "created_at": _ro("string", "Creation time (ISO 8601, UTC)."),
        "updated_at": _ro("string", "Last change (ISO 8601, UTC)."),
        "tags": _rw("array", "Labels of the image.", items={"type": "string", "maxLength": 255}),
        "direct_url": _ro("string", "Location of the data in its store, when exposed."),
        "min_ram": _rw("integer", "Minimum RAM in MB needed to boot the image.", minimum=0),
        "min_disk": _rw("integer", "Minimum disk in GB needed to boot the image.", minimum=0),
        "self": _ro("string", "Link to this image."),
        "file": _ro("string", "Link to the image data."),
        "stores": _ro("string", "Comma-separated stores holding the data (multi-store only)."),
        "schema": _ro("string", "Link to this schema."),
        "locations": {
            "type": "array",
            "description": "Locations of the data, when the operator exposes them.",
            "items": _location_item(),
        },
    }


def image_schema() -> dict[str, Any]:
    return {
        "name": "image",
        "properties": image_properties(),
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def collection(name: str, item: dict[str, Any], *, minimal: bool = False) -> dict[str, Any]:
    """Glance's collection wrapper; the minimal form has no paging links."""
    item = copy.deepcopy(item)
    definitions = item.pop("definitions", None)
    props: dict[str, Any] = {name: {"type": "array", "items": item}}
    links = [{"rel": "describedby", "href": "{schema}"}]
    if not minimal:
        props |= {"first": {"type": "string"}, "next": {"type": "string"}}
        links = [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, *links]
    props["schema"] = {"type": "string"}
    body: dict[str, Any] = {"name": name, "properties": props, "links": links}
    if definitions:
        body["definitions"] = definitions
    return body


def member_schema() -> dict[str, Any]:
    return {
        "name": "member",
        "properties": {
            "member_id": {"type": "string", "description": "Project the image is shared with."},
            "image_id": {
                "type": "string",
                "description": "The shared image.",
                "pattern": UUID_PATTERN,
            },
            "created_at": {"type": "string", "description": "When the image was shared."},
            "updated_at": {"type": "string", "description": "Last status change."},
            "status": {
                "type": "string",
                "description": "The member's answer to the share.",
                "enum": list(MEMBER_STATUSES),
            },
            "schema": {"readOnly": True, "type": "string"},
        },
    }


def _task_properties() -> dict[str, Any]:
    return {
        "id": {"type": "string", "description": "Task identifier.", "pattern": UUID_PATTERN},
        "type": {
            "type": "string",
            "description": "Kind of task.",
            "enum": ["import", "api_image_import", "location_import"],
        },
        "status": {
            "type": "string",
            "description": "Task state.",
            "enum": ["pending", "processing", "success", "failure"],
        },
        "input": {"type": ["null", "object"], "description": "Parameters of the task."},
        "result": {"type": ["null", "object"], "description": "Outcome of the task."},
        "owner": {"type": "string", "description": "Project owning the task."},
        "message": {"type": "string", "description": "Human-readable outcome."},
        "image_id": {"type": "string", "description": "Image the task works on."},
        "request_id": {"type": "string", "description": "Request that started the task."},
        "user_id": {"type": "string", "description": "User who started the task."},
        "expires_at": {"type": ["null", "string"], "description": "When the task is purged."},
        "created_at": {"type": "string", "description": "Creation time."},
        "updated_at": {"type": "string", "description": "Last change."},
        "self": {"readOnly": True, "type": "string"},
        "schema": {"readOnly": True, "type": "string"},
    }


def task_schema() -> dict[str, Any]:
    return {"name": "task", "properties": _task_properties()}


def task_stub_schema() -> dict[str, Any]:
    props = _task_properties()
    for hidden in ("input", "result", "message"):
        del props[hidden]
    return {"name": "task", "properties": props}


def documents() -> dict[str, dict[str, Any]]:
    """Every schema document by its name under ``/v2/schemas/``."""
    # (the metadefs area serves /v2/schemas/metadefs/* itself: glimpse.rest_compat.metadefs)
    docs = {
        "image": image_schema(),
        "images": collection("images", image_schema()),
        "member": member_schema(),
        "members": collection("members", member_schema(), minimal=True),
        "task": task_schema(),
        "tasks": collection("tasks", task_stub_schema(), minimal=True),
    }
    return docs


_DOCUMENTS: Final = documents()


def handler_for(name: str) -> Callable[[Request], Awaitable[Response]]:
    """The GET handler of ``/v2/schemas/<name>`` (one route per document, so 405s work)."""
    doc = _DOCUMENTS[name]

    async def show(request: Request) -> Response:
        return JSONResponse(doc)

    return show
