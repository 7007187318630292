"""GraphQL object types for images and their relations."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from glimpse.models.image_sql import ImageRow
from glimpse.models.tables import ImageEvent, ImageMember
from glimpse.resolvers.images import ImageRecord
from glimpse.schema.context import Info
from glimpse.schema.scalars import JSON, BigInt

if TYPE_CHECKING:
    from glimpse.schema.metadef_types import ImageMetadefProperty
    from glimpse.schema.tasks import Task


@strawberry.enum(description="Lifecycle status of an image (Glance's status machine).")
class ImageStatus(enum.Enum):
    QUEUED = "queued"
    SAVING = "saving"
    UPLOADING = "uploading"
    IMPORTING = "importing"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    KILLED = "killed"
    PENDING_DELETE = "pending_delete"
    DELETED = "deleted"


@strawberry.enum(description="Who may see an image.")
class Visibility(enum.Enum):
    PUBLIC = "public"
    COMMUNITY = "community"
    SHARED = "shared"
    PRIVATE = "private"


@strawberry.enum(description="A member project's answer to a share.")
class MemberStatus(enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@strawberry.federation.type(
    shareable=True, description="A custom image property (a key/value pair; @shareable)."
)
class Property:
    key: str = strawberry.field(description="Property name.")
    value: str = strawberry.field(description="Property value (always a string).")


@strawberry.type(description="A project an image is shared with.")
class Member:
    image_id: strawberry.ID = strawberry.field(description="The shared image.")
    member_id: str = strawberry.field(description="The member project id.")
    status: MemberStatus = strawberry.field(description="The member's answer.")
    created_at: datetime = strawberry.field(description="When the share was created.")
    updated_at: datetime = strawberry.field(description="When the status last changed.")

    @classmethod
    def of(cls, row: ImageMember) -> Member:
        return cls(
            image_id=strawberry.ID(row.image_id),
            member_id=row.member,
            status=MemberStatus(row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="One entry of an image's operation log.")
class ImageEventType:
    id: strawberry.ID = strawberry.field(description="Event id (increasing).")
    at: datetime = strawberry.field(description="When it happened (UTC).")
    action: str = strawberry.field(description="What was done, e.g. create, update, upload.")
    user_id: str | None = strawberry.field(description="Acting user.")
    project_id: str | None = strawberry.field(description="Acting user's project.")
    request_id: str | None = strawberry.federation.field(
        inaccessible=True,
        description="Request that made the change. @inaccessible: an operator's key into this "
        "service's logs, served by the subgraph itself but not part of the supergraph API.",
    )
    changes: JSON = strawberry.field(description="The change, as a JSON object.")

    @classmethod
    def of(cls, ev: ImageEvent) -> ImageEventType:
        return cls(
            id=strawberry.ID(str(ev.id)),
            at=ev.at,
            action=ev.action,
            user_id=ev.user_id,
            project_id=ev.project_id,
            request_id=ev.request_id,
            changes=JSON(ev.changes),
        )


TaskRef = Annotated["Task", strawberry.lazy("glimpse.schema.tasks")]


@strawberry.type(description="REST endpoints for streaming this image's data.")
class ImageLinks:
    self: str = strawberry.field(description="The image in the Glance-compatible REST API.")
    file: str = strawberry.field(description="PUT data here (octet-stream); GET to download.")
    schema: str = strawberry.field(description="JSON schema of the REST representation.")


@strawberry.federation.type(
    keys=["id"],
    tags=["public"],
    description="A virtual machine or disk image. Tagged `public` for Apollo contracts: the "
    "image catalog is part of the public graph variant.",
)
class Image:
    """Scalar fields are plain attributes copied from the row once: strawberry resolves them
    without building an Info or parsing arguments (its "basic field" path), which is most of
    the per-field cost on a page of images. Relations stay resolvers backed by DataLoaders."""

    row: strawberry.Private[ImageRow]
    details: strawberry.Private[ImageRecord | None]
    prefetched: strawberry.Private[dict[str, Any] | None]
    id: strawberry.ID = strawberry.field(description="Image id (UUID).")
    name: str | None = strawberry.field(description="Display name; not unique.")
    status: ImageStatus = strawberry.field(description="Lifecycle status.")
    visibility: Visibility = strawberry.field(description="Who may see the image.")
    is_public: bool = strawberry.field(
        description="Whether the first design's public flag holds: derived from visibility."
    )
    protected: bool = strawberry.field(description="Protected images cannot be deleted.")
    os_hidden: bool = strawberry.field(
        description="Hidden images are left out of default listings."
    )
    owner: str | None = strawberry.field(description="Owning project id.")
    min_disk: int = strawberry.field(
        description="Minimum disk size in GB needed to boot the image."
    )
    min_ram: int = strawberry.field(description="Minimum RAM in MB needed to boot the image.")
    disk_format: str | None = strawberry.field(description="Disk format (raw, qcow2, vmdk...).")
    container_format: str | None = strawberry.field(description="Container format (bare, ovf...).")
    size: BigInt | None = strawberry.field(description="Bytes of stored data.")
    virtual_size: BigInt | None = strawberry.field(
        description="Size of the virtual disk in bytes, from format inspection."
    )
    checksum: str | None = strawberry.field(description="MD5 of the data (hex).")
    os_hash_algo: str | None = strawberry.field(description="Algorithm of osHashValue (sha512).")
    os_hash_value: str | None = strawberry.field(description="Secure hash of the data (hex).")
    created_at: datetime = strawberry.field(description="Creation time (UTC, microseconds).")
    updated_at: datetime = strawberry.field(description="Last change (UTC, microseconds).")

    def __init__(self, row: ImageRow, details: ImageRecord | None = None) -> None:
        self.row, self.details = row, details
        # Leaf-list relations already in hand, for the executor's fast path (fastpath.py).
        self.prefetched = (
            None
            if details is None
            else {
                "tags": details.tags,
                "properties_json": details.properties,
                "stores": details.stores,
            }
        )
        self.id = strawberry.ID(row.id)
        self.name = row.name
        # The stored strings are the enums' values: graphql-core serialises them with a dict
        # lookup, while an Enum member goes through strawberry's linear search.
        self.status = row.status  # type: ignore[assignment]
        self.visibility = row.visibility  # type: ignore[assignment]
        self.is_public = row.visibility == "public"
        self.protected = row.protected
        self.os_hidden = row.os_hidden
        self.owner = row.owner
        self.min_disk = row.min_disk
        self.min_ram = row.min_ram
        self.disk_format = row.disk_format
        self.container_format = row.container_format
        self.size = row.size  # type: ignore[assignment]
        self.virtual_size = row.virtual_size  # type: ignore[assignment]
        self.checksum = row.checksum
        self.os_hash_algo = row.os_hash_algo
        self.os_hash_value = row.os_hash_value
        self.created_at = row.created_at
        self.updated_at = row.updated_at

    # Relations: when the list resolver (or a mutation) already holds them in ``details``,
    # they are returned as plain values; otherwise a DataLoader batches them. The resolvers
    # are sync functions that may return an awaitable (graphql-core awaits it), so the
    # prefetched case creates no coroutine, task or future per field.

    @strawberry.field(description="Tags (a set, sorted).")
    def tags(self, info: Info) -> list[str]:
        if self.details is not None:
            return self.details.tags
        return _after(info.context.loaders.relations.load(self.row.id), lambda r: r.tags)  # type: ignore[return-value]

    @strawberry.field(description="Custom properties as key/value pairs, sorted by key.")
    def properties(self, info: Info) -> list[Property]:
        if self.details is not None:
            return _pairs(self.details.properties)
        return _after(self._properties(info), _pairs)  # type: ignore[return-value]

    @strawberry.field(description="Custom properties as one JSON object.")
    def properties_json(self, info: Info) -> JSON:
        if self.details is not None:
            return self.details.properties  # type: ignore[return-value]
        return self._properties(info)  # type: ignore[return-value]

    @strawberry.field(description="Value of one custom property, or null.")
    def property(
        self,
        info: Info,
        key: Annotated[str, strawberry.argument(description="Property name.")],
    ) -> str | None:
        if self.details is not None:
            return self.details.properties.get(key)
        return _after(self._properties(info), lambda p: p.get(key))  # type: ignore[return-value]

    def _properties(self, info: Info) -> Awaitable[dict[str, str]]:
        return _after(info.context.loaders.relations.load(self.row.id), lambda r: r.properties)

    @strawberry.field(description="Names of the stores holding the data.")
    def stores(self, info: Info) -> list[str]:
        if self.details is not None:
            return self.details.stores
        return _after(info.context.loaders.relations.load(self.row.id), lambda r: r.stores)  # type: ignore[return-value]

    @strawberry.field(
        description="Member projects you may see: all of them if you own the "
        "image, your own record if you are a member, none otherwise."
    )
    async def members(self, info: Info) -> list[Member]:
        return [Member.of(m) for m in await info.context.loaders.members.load(self.row.id)]

    @strawberry.field(description="The operation log, newest first.")
    async def events(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description="How many, newest first (at most 100).")
        ] = 50,
    ) -> list[ImageEventType]:
        rows = await info.context.loaders.events.load(self.row.id)
        return [ImageEventType.of(e) for e in rows[: max(0, min(first, 100))]]

    @strawberry.field(
        description="Background tasks about this image (imports, copies, resizes), newest "
        "first: all of them for admins, those of your project otherwise."
    )
    async def tasks(self, info: Info) -> list[TaskRef]:
        from glimpse.schema.tasks import Task

        return [Task(row=t) for t in await info.context.loaders.tasks.load(self.row.id)]

    @strawberry.field(
        description="Metadef properties that apply to images (namespaces associated with "
        "OS::Glance::Image, names with the association's prefix) and this image's values."
    )
    async def metadef_properties(
        self,
        info: Info,
        only_set: Annotated[
            bool, strawberry.argument(description="Only properties this image has a value for.")
        ] = False,
    ) -> list[Annotated[ImageMetadefProperty, strawberry.lazy("glimpse.schema.metadef_types")]]:
        from glimpse.schema.metadef_types import image_metadef_properties

        return await image_metadef_properties(info, self.row.id, only_set)

    @strawberry.field(description="REST links for uploading and downloading data.")
    def links(self) -> ImageLinks:
        base = f"/v2/images/{self.row.id}"
        return ImageLinks(self=base, file=f"{base}/file", schema="/v2/schemas/image")

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Image | None:
        """Federation entity lookup; unknown or invisible ids resolve to null. Batched.
        Anonymous callers get UNAUTHENTICATED, as REST answers 401."""
        info.context.caller()
        record = await info.context.loaders.images.load(str(id))
        return cls(record.image, record) if record is not None else None


def _pairs(props: dict[str, str]) -> list[Property]:
    return [Property(key=k, value=v) for k, v in sorted(props.items())]


async def _after(pending: Awaitable[Any], then: Callable[[Any], Any]) -> Any:
    return then(await pending)


ImageRef = Annotated["Image", strawberry.lazy("glimpse.schema.types")]
