"""Glance JSON for images: every base property present (null when unset), custom properties
as strings, links relative, times with second precision and ``Z``."""

from __future__ import annotations

from typing import Any

from glimpse.core.clock import iso
from glimpse.core.config import Settings
from glimpse.resolvers.images import ImageRecord


def image_json(rec: ImageRecord, settings: Settings) -> dict[str, Any]:
    i = rec.image
    body: dict[str, Any] = {
        **rec.properties,
        "id": i.id,
        "name": i.name,
        "status": i.status,
        "visibility": i.visibility,
        "protected": i.protected,
        "os_hidden": i.os_hidden,
        "owner": i.owner,
        "min_disk": i.min_disk,
        "min_ram": i.min_ram,
        "disk_format": i.disk_format,
        "container_format": i.container_format,
        "size": i.size,
        "virtual_size": i.virtual_size,
        "checksum": i.checksum,
        "os_hash_algo": i.os_hash_algo,
        "os_hash_value": i.os_hash_value,
        "tags": list(rec.tags),
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
        "self": f"/v2/images/{i.id}",
        "file": f"/v2/images/{i.id}/file",
        "schema": "/v2/schemas/image",
    }
    if settings.multi_store and rec.stores:
        body["stores"] = ",".join(rec.stores)
    if settings.show_multiple_locations:
        body["locations"] = []
    return body
