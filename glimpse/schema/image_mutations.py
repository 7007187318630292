"""Image mutations: GraphQL inputs become the neutral ImageCreate / ImagePatch."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import strawberry
from strawberry.types.unset import UNSET, UnsetType

from glimpse.resolvers import images, members
from glimpse.resolvers.images import ImageCreate, ImagePatch, PatchOp
from glimpse.schema.context import Info
from glimpse.schema.image_args import (
    ImageIdArg,
    KeyArg,
    MemberArg,
    MemberStatusArg,
    TagArg,
    ValueArg,
)
from glimpse.schema.types import Image, Member, Visibility


@strawberry.input(description="A custom property to set.")
class PropertyInput:
    key: str = strawberry.field(description="Property name.")
    value: str = strawberry.field(description="Property value.")


@strawberry.input(description="A new image's metadata (data is uploaded separately).")
class CreateImageInput:
    id: ImageIdArg | None = strawberry.field(default=UNSET, description="Chosen UUID.")
    name: str | None = strawberry.field(default=UNSET, description="Display name.")
    visibility: Visibility | None = strawberry.field(default=UNSET, description="Default shared.")
    protected: bool | None = strawberry.field(default=UNSET, description="Default false.")
    os_hidden: bool | None = strawberry.field(default=UNSET, description="Default false.")
    owner: str | None = strawberry.field(default=UNSET, description="Owner (admins only).")
    min_disk: int | None = strawberry.field(default=UNSET, description="GB, default 0.")
    min_ram: int | None = strawberry.field(default=UNSET, description="MB, default 0.")
    disk_format: str | None = strawberry.field(default=UNSET, description="Disk format.")
    container_format: str | None = strawberry.field(default=UNSET, description="Container format.")
    tags: list[str] | None = strawberry.field(default=UNSET, description="Tags.")
    properties: list[PropertyInput] | None = strawberry.field(
        default=UNSET, description="Custom properties."
    )


@strawberry.input(description="Changes to an image; omitted fields stay as they are.")
class UpdateImageInput:
    name: str | None = strawberry.field(default=UNSET, description="Display name.")
    visibility: Visibility | None = strawberry.field(default=UNSET, description="Visibility.")
    protected: bool | None = strawberry.field(default=UNSET, description="Protected flag.")
    os_hidden: bool | None = strawberry.field(default=UNSET, description="Hidden flag.")
    owner: str | None = strawberry.field(default=UNSET, description="Owner (admins only).")
    min_disk: int | None = strawberry.field(default=UNSET, description="GB.")
    min_ram: int | None = strawberry.field(default=UNSET, description="MB.")
    disk_format: str | None = strawberry.field(default=UNSET, description="Only while queued.")
    container_format: str | None = strawberry.field(default=UNSET, description="Only while queued.")
    tags: list[str] | None = strawberry.field(default=UNSET, description="Replace all tags.")
    set_properties: list[PropertyInput] | None = strawberry.field(
        default=UNSET, description="Custom properties to add or overwrite."
    )
    remove_properties: list[str] | None = strawberry.field(
        default=UNSET, description="Custom properties to remove (must exist)."
    )


BASE_INPUT_FIELDS = (
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "owner",
    "min_disk",
    "min_ram",
    "disk_format",
    "container_format",
    "tags",
)


def _plain(v: Any) -> Any:
    return v.value if isinstance(v, enum.Enum) else v


def create_values(inp: CreateImageInput) -> dict[str, Any]:
    values = {n: _plain(getattr(inp, n)) for n in BASE_INPUT_FIELDS if getattr(inp, n) is not UNSET}
    if inp.id is not UNSET and inp.id is not None:
        values["id"] = str(inp.id)
    for p in inp.properties or []:
        values[p.key] = p.value
    return values


def update_patch(inp: UpdateImageInput) -> ImagePatch:
    ops = [
        PatchOp("replace", n, _plain(getattr(inp, n)))
        for n in BASE_INPUT_FIELDS
        if not isinstance(getattr(inp, n), UnsetType)
    ]
    ops += [PatchOp("add", p.key, p.value) for p in inp.set_properties or []]
    ops += [PatchOp("remove", k) for k in inp.remove_properties or []]
    return ImagePatch(ops)


@strawberry.type(description="Result of deleteImage.")
class DeleteImagePayload:
    id: ImageIdArg = strawberry.field(description="The deleted image.")
    deleted: bool = strawberry.field(description="Always true on success.")


CreateArg = Annotated[
    "CreateImageInput", strawberry.argument(description="The new image's metadata.")
]
UpdateArg = Annotated["UpdateImageInput", strawberry.argument(description="The changes.")]


@strawberry.type
class ImageMutation:
    @strawberry.mutation(description="Create a queued image; upload data via links.file.")
    async def create_image(self, info: Info, input: CreateArg) -> Image:
        rec = await images.create(
            info.context.deps, info.context.caller(), ImageCreate(create_values(input))
        )
        return Image(rec.image, rec)

    @strawberry.mutation(description="Change an image; all changes apply or none.")
    async def update_image(self, info: Info, id: ImageIdArg, input: UpdateArg) -> Image:
        rec = await images.update(
            info.context.deps, info.context.caller(), str(id), update_patch(input)
        )
        return Image(rec.image, rec)

    @strawberry.mutation(description="Delete an image and its data (protected images refuse).")
    async def delete_image(self, info: Info, id: ImageIdArg) -> DeleteImagePayload:
        await images.delete(info.context.deps, info.context.caller(), str(id))
        return DeleteImagePayload(id=id, deleted=True)

    @strawberry.mutation(description="Add a tag (idempotent).")
    async def add_image_tag(self, info: Info, id: ImageIdArg, tag: TagArg) -> Image:
        await images.add_tag(info.context.deps, info.context.caller(), str(id), tag)
        return await _reload(info, str(id))

    @strawberry.mutation(description="Remove a tag (it must exist).")
    async def remove_image_tag(self, info: Info, id: ImageIdArg, tag: TagArg) -> Image:
        await images.remove_tag(info.context.deps, info.context.caller(), str(id), tag)
        return await _reload(info, str(id))

    @strawberry.mutation(description="Set one custom property.")
    async def set_image_property(
        self, info: Info, id: ImageIdArg, key: KeyArg, value: ValueArg
    ) -> Image:
        rec = await images.set_property(
            info.context.deps, info.context.caller(), str(id), key, value
        )
        return Image(rec.image, rec)

    @strawberry.mutation(description="Remove one custom property (it must exist).")
    async def remove_image_property(self, info: Info, id: ImageIdArg, key: KeyArg) -> Image:
        rec = await images.remove_property(info.context.deps, info.context.caller(), str(id), key)
        return Image(rec.image, rec)

    @strawberry.mutation(
        description="Pause an image: it can no longer be downloaded or used (Glance's deactivate)."
    )
    async def pause_image(self, info: Info, id: ImageIdArg) -> Image:
        rec = await images.deactivate(info.context.deps, info.context.caller(), str(id))
        return Image(rec.image, rec)

    @strawberry.mutation(description="Unpause an image (Glance's reactivate).")
    async def unpause_image(self, info: Info, id: ImageIdArg) -> Image:
        rec = await images.reactivate(info.context.deps, info.context.caller(), str(id))
        return Image(rec.image, rec)

    @strawberry.mutation(description="Share a shared image with a project (status pending).")
    async def add_image_member(self, info: Info, id: ImageIdArg, member: MemberArg) -> Member:
        row = await members.add_member(info.context.deps, info.context.caller(), str(id), member)
        return Member.of(row)

    @strawberry.mutation(description="Accept, reject or reset a share (the member project only).")
    async def update_image_member(
        self, info: Info, id: ImageIdArg, member: MemberArg, status: MemberStatusArg
    ) -> Member:
        row = await members.update_member(
            info.context.deps, info.context.caller(), str(id), member, status.value
        )
        return Member.of(row)

    @strawberry.mutation(description="Stop sharing an image with a project.")
    async def remove_image_member(self, info: Info, id: ImageIdArg, member: MemberArg) -> bool:
        await members.remove_member(info.context.deps, info.context.caller(), str(id), member)
        return True


async def _reload(info: Info, image_id: str) -> Image:
    rec = await images.get(info.context.deps, info.context.caller(), image_id)
    return Image(rec.image, rec)


__all__ = ["ImageMutation"]
