"""GraphQL object types for images and their relations."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from glimpse.models.tables import Image as ImageRow
from glimpse.models.tables import ImageEvent, ImageMember
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


@strawberry.type(description="A custom image property.")
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
    request_id: str | None = strawberry.field(description="Request that made the change.")
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


@strawberry.federation.type(keys=["id"], description="A virtual machine or disk image.")
class Image:
    row: strawberry.Private[ImageRow]

    @strawberry.field(description="Image id (UUID).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.row.id)

    @strawberry.field(description="Display name; not unique.")
    def name(self) -> str | None:
        return self.row.name

    @strawberry.field(description="Lifecycle status.")
    def status(self) -> ImageStatus:
        return ImageStatus(self.row.status)

    @strawberry.field(description="Who may see the image.")
    def visibility(self) -> Visibility:
        return Visibility(self.row.visibility)

    @strawberry.field(
        description="Whether the first design's public flag holds: derived from visibility."
    )
    def is_public(self) -> bool:
        return self.row.visibility == "public"

    @strawberry.field(description="Protected images cannot be deleted.")
    def protected(self) -> bool:
        return self.row.protected

    @strawberry.field(description="Hidden images are left out of default listings.")
    def os_hidden(self) -> bool:
        return self.row.os_hidden

    @strawberry.field(description="Owning project id.")
    def owner(self) -> str | None:
        return self.row.owner

    @strawberry.field(description="Minimum disk size in GB needed to boot the image.")
    def min_disk(self) -> int:
        return self.row.min_disk

    @strawberry.field(description="Minimum RAM in MB needed to boot the image.")
    def min_ram(self) -> int:
        return self.row.min_ram

    @strawberry.field(description="Disk format (raw, qcow2, vmdk...).")
    def disk_format(self) -> str | None:
        return self.row.disk_format

    @strawberry.field(description="Container format (bare, ovf...).")
    def container_format(self) -> str | None:
        return self.row.container_format

    @strawberry.field(description="Bytes of stored data.")
    def size(self) -> BigInt | None:
        return self.row.size  # type: ignore[return-value]

    @strawberry.field(description="Size of the virtual disk in bytes, from format inspection.")
    def virtual_size(self) -> BigInt | None:
        return self.row.virtual_size  # type: ignore[return-value]

    @strawberry.field(description="MD5 of the data (hex).")
    def checksum(self) -> str | None:
        return self.row.checksum

    @strawberry.field(description="Algorithm of osHashValue (sha512).")
    def os_hash_algo(self) -> str | None:
        return self.row.os_hash_algo

    @strawberry.field(description="Secure hash of the data (hex).")
    def os_hash_value(self) -> str | None:
        return self.row.os_hash_value

    @strawberry.field(description="Creation time (UTC, microseconds).")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="Last change (UTC, microseconds).")
    def updated_at(self) -> datetime:
        return self.row.updated_at

    @strawberry.field(description="Tags (a set, sorted).")
    async def tags(self, info: Info) -> list[str]:
        return await info.context.loaders.tags.load(self.row.id)

    @strawberry.field(description="Custom properties as key/value pairs, sorted by key.")
    async def properties(self, info: Info) -> list[Property]:
        props = await info.context.loaders.properties.load(self.row.id)
        return [Property(key=k, value=v) for k, v in sorted(props.items())]

    @strawberry.field(description="Custom properties as one JSON object.")
    async def properties_json(self, info: Info) -> JSON:
        return await info.context.loaders.properties.load(self.row.id)  # type: ignore[return-value]

    @strawberry.field(description="Value of one custom property, or null.")
    async def property(self, info: Info, key: str) -> str | None:
        return (await info.context.loaders.properties.load(self.row.id)).get(key)

    @strawberry.field(description="Names of the stores holding the data.")
    async def stores(self, info: Info) -> list[str]:
        return await info.context.loaders.stores.load(self.row.id)

    @strawberry.field(
        description="Member projects you may see: all of them if you own the "
        "image, your own record if you are a member, none otherwise."
    )
    async def members(self, info: Info) -> list[Member]:
        return [Member.of(m) for m in await info.context.loaders.members.load(self.row.id)]

    @strawberry.field(description="The operation log, newest first.")
    async def events(self, info: Info, first: int = 50) -> list[ImageEventType]:
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
        self, info: Info, only_set: bool = False
    ) -> list[Annotated[ImageMetadefProperty, strawberry.lazy("glimpse.schema.metadef_types")]]:
        from glimpse.schema.metadef_types import image_metadef_properties

        return await image_metadef_properties(info, self.row.id, only_set)

    @strawberry.field(description="REST links for uploading and downloading data.")
    def links(self) -> ImageLinks:
        base = f"/v2/images/{self.row.id}"
        return ImageLinks(self=base, file=f"{base}/file", schema="/v2/schemas/image")

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Image | None:
        """Federation entity lookup; unknown or invisible ids resolve to null. Batched."""
        row = await info.context.loaders.images.load(str(id))
        return cls(row=row) if row is not None else None


def wrap(row: Any) -> Image:
    return Image(row=row)


ImageRef = Annotated["Image", strawberry.lazy("glimpse.schema.types")]
