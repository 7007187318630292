"""The operations of the ``/v2`` surface as OpenAPI data: parameters, bodies and every status
code a handler can answer. tests/rest/test_openapi.py checks this table against the route
table, and a schemathesis run checks it against the live behaviour.
"""

from __future__ import annotations

from typing import Any, Final

from glimpse.rest_compat.listing import GLANCE_SORT_KEYS

JSON = "application/json"
PATCH_TYPES: Final = (
    "application/openstack-images-v2.1-json-patch",
    "application/openstack-images-v2.0-json-patch",
)

# Status code -> short description, shared by every operation.
REASONS: Final[dict[int, str]] = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    206: "Partial content",
    300: "Multiple choices: the versions document",
    400: "Malformed request, bad parameter or body",
    401: "Missing or invalid token",
    403: "Not allowed on a visible target, or a read-only attribute",
    404: "Absent, deleted, or not visible to the caller",
    405: "Method not allowed on this path (see Allow)",
    409: "Conflict with the current state",
    410: "The image was deleted during the operation",
    413: "Quota or size limit exceeded",
    415: "Unsupported media type (see Accept-Patch), or data refused by format inspection",
    416: "Range not satisfiable",
    503: "Store unavailable",
}


def _q(name: str, text: str, kind: str = "string", **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind, **extra}
    return {"name": name, "in": "query", "required": False, "description": text, "schema": schema}


def _repeat(name: str, text: str, **item: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": text,
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string", **item}},
    }


_BOOL_ANY_CASE = ["true", "false", "True", "False", "TRUE", "FALSE"]
_SORT_KEYS = list(GLANCE_SORT_KEYS)
_TIME = r"^((gt|gte|lt|lte|eq|neq):)?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"

LIST_PARAMS: Final = [
    _q("limit", "Page size (default 25, capped at 1000).", "integer", minimum=0),
    _q("marker", "Id of the last image of the previous page (unknown id: 400).", format="uuid"),
    _repeat("sort_key", "Sort key(s).", enum=_SORT_KEYS),
    _repeat("sort_dir", "asc or desc, once or once per sort_key.", enum=["asc", "desc"]),
    _q("sort", "Alternative syntax: name:asc,size:desc (not with sort_key/sort_dir)."),
    _q("name", "Exact name, or in:a,b, or eq:<name containing ':'>."),
    _q("id", "Exact id, or in:a,b."),
    _q("status", "Exact status, or in:a,b."),
    _q("container_format", "Exact container format, or in:a,b."),
    _q("disk_format", "Exact disk format, or in:a,b."),
    _q(
        "visibility", "Visibility filter.", enum=["public", "private", "shared", "community", "all"]
    ),
    _q(
        "member_status",
        "Member status of shared images (default accepted).",
        enum=["pending", "accepted", "rejected", "all"],
    ),
    _q("owner", "Owner project."),
    _repeat("tag", "Tag; repeat for all-of."),
    _q("size_min", "Minimum size in bytes.", "integer"),
    _q("size_max", "Maximum size in bytes.", "integer"),
    _q("os_hidden", "true or false, any case (default false).", enum=_BOOL_ANY_CASE),
    _q("protected", "true or false (exactly).", enum=["true", "false"]),
    _q("checksum", "MD5 of the data."),
    _q("os_hash_value", "Secure hash of the data."),
    _repeat("created_at", "[gt|gte|lt|lte|eq|neq:]<ISO 8601 UTC time>.", pattern=_TIME),
    _repeat("updated_at", "[gt|gte|lt|lte|eq|neq:]<ISO 8601 UTC time>.", pattern=_TIME),
    _repeat(
        "property",
        "Custom property: key=value (equals) or key~value (contains).",
        pattern="^[^=~]+[=~]",
    ),
    _repeat(
        "metadata",
        "Base field: field=value (equals) or field~value (contains).",
        pattern="^[^=~]+[=~]",
    ),
]


def _path(name: str, text: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": text,
        "schema": {"type": "string"},
    }


IMAGE_ID: Final = _path("image_id", "Image id (a UUID; anything else is a 404).")
MEMBER_ID: Final = _path("member_id", "Member project id.")
TAG: Final = _path("tag", "The tag (URL-encoded).")


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: dict[str, Any], *types: str) -> dict[str, Any]:
    return {"required": True, "content": {t: {"schema": schema} for t in (types or (JSON,))}}


def op(
    summary: str,
    ok: dict[int, str | None],
    errors: tuple[int, ...],
    *,
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    public: bool = False,
    links: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One operation. ``ok`` maps success codes to a component schema name (None: no body);
    ``links`` (OpenAPI links of the first success response) let stateful fuzzing follow on."""
    return {
        "summary": summary,
        "ok": ok,
        "errors": errors,
        "params": params or [],
        "body": body,
        "public": public,
        "links": links or {},
    }


def _image_link(operation_id: str) -> dict[str, Any]:
    return {"operationId": operation_id, "parameters": {"image_id": "$response.body#/id"}}


# What a client does next with a created image.
IMAGE_LINKS: Final = {
    name: _image_link(target)
    for name, target in (
        ("ShowImage", "get_v2_images_image_id"),
        ("PatchImage", "patch_v2_images_image_id"),
        ("PutImage", "put_v2_images_image_id"),
        ("DeleteImage", "delete_v2_images_image_id"),
        ("UploadData", "put_v2_images_image_id_file"),
        ("DownloadData", "get_v2_images_image_id_file"),
        ("AddTag", "put_v2_images_image_id_tags_tag"),
        ("Deactivate", "post_v2_images_image_id_actions_deactivate"),
        ("ListMembers", "get_v2_images_image_id_members"),
        ("AddMember", "post_v2_images_image_id_members"),
    )
}


_IMG = [IMAGE_ID]
_MEM = [IMAGE_ID, MEMBER_ID]
_READ = (400, 401, 404)
_WRITE = (400, 401, 403, 404, 409, 413)

OPERATIONS: Final[dict[str, dict[str, dict[str, Any]]]] = {
    "/v2/images": {
        "GET": op("List images", {200: "ImageList"}, (400, 401, 403), params=LIST_PARAMS),
        "POST": op(
            "Create an image",
            {201: "Image"},
            (400, 401, 403, 409, 413),
            body=_body(_ref("ImageCreate")),
            links=IMAGE_LINKS,
        ),
    },
    "/v2/images/{image_id}": {
        "GET": op("Show an image", {200: "Image"}, _READ, params=_IMG),
        "PATCH": op(
            "Update an image (JSON patch)",
            {200: "Image"},
            (*_WRITE, 415),
            params=_IMG,
            body=_body(_ref("PatchOperations"), *PATCH_TYPES),
        ),
        "PUT": op(
            "Update an image (object of changes, merge semantics)",
            {200: "Image"},
            _WRITE,
            params=_IMG,
            body=_body(_ref("ImageChanges")),
        ),
        "DELETE": op("Delete an image", {204: None}, (400, 401, 403, 404, 409), params=_IMG),
    },
    "/v2/images/{image_id}/file": {
        "GET": op(
            "Download image data",
            {200: "Binary", 204: None, 206: "Binary"},
            (400, 401, 403, 404, 416),
            params=_IMG,
        ),
        "PUT": op(
            "Upload image data",
            {204: None},
            (400, 401, 403, 404, 409, 410, 413, 415, 503),
            params=_IMG,
            body=_body({"type": "string", "format": "binary"}, "application/octet-stream"),
        ),
    },
    "/v2/images/{image_id}/tags/{tag}": {
        "PUT": op("Add a tag", {204: None}, (400, 401, 403, 404, 413), params=[IMAGE_ID, TAG]),
        "DELETE": op("Remove a tag", {204: None}, (400, 401, 403, 404), params=[IMAGE_ID, TAG]),
    },
    "/v2/images/{image_id}/actions/deactivate": {
        "POST": op("Deactivate an image", {204: None}, (400, 401, 403, 404, 409), params=_IMG),
    },
    "/v2/images/{image_id}/actions/reactivate": {
        "POST": op("Reactivate an image", {204: None}, (400, 401, 403, 404, 409), params=_IMG),
    },
    "/v2/images/{image_id}/members": {
        "GET": op("List members", {200: "MemberList"}, (400, 401, 403, 404), params=_IMG),
        "POST": op(
            "Share an image with a project",
            {200: "Member"},
            _WRITE,
            params=_IMG,
            body=_body(_ref("MemberCreate")),
        ),
    },
    "/v2/images/{image_id}/members/{member_id}": {
        "GET": op("Show a member", {200: "Member"}, _READ, params=_MEM),
        "PUT": op(
            "Accept, reject or reset a share",
            {200: "Member"},
            (400, 401, 403, 404),
            params=_MEM,
            body=_body(_ref("MemberUpdate")),
        ),
        "DELETE": op("Stop sharing", {204: None}, (400, 401, 403, 404), params=_MEM),
    },
    "/v2/info/import": {"GET": op("Import methods", {200: "ImportInfo"}, (400, 401))},
    "/v2/info/stores": {"GET": op("Stores", {200: "StoreList"}, (400, 401, 404))},
    "/v2/info/stores/detail": {
        "GET": op("Stores with details", {200: "StoreList"}, (400, 401, 403, 404)),
    },
    "/v2/info/usage": {"GET": op("Quota usage", {200: "Usage"}, (400, 401, 403))},
    "/v2/openapi.json": {"GET": op("This description", {200: "Any"}, (400,), public=True)},
    "/v2/docs": {"GET": op("API documentation page", {200: "Html"}, (400,), public=True)},
}
