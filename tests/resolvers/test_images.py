"""Image operations on a real database (SQLite and PostgreSQL), through the resolvers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from glimpse.core.errors import Conflict, Forbidden, InvalidInput, NotFound, QuotaExceeded
from glimpse.models.tables import Image, ImageEvent
from glimpse.resolvers import images
from glimpse.resolvers.images import ImageCreate, ImagePatch, PatchOp
from tests.conftest import Personas


async def make_image(deps: Any, who: Any, **values: Any) -> images.ImageRecord:
    return await images.create(deps, who, ImageCreate({"name": "img", **values}))


async def test_create_applies_glance_defaults(deps: Any, personas: Personas) -> None:
    rec = await make_image(deps, personas.p1_member, tags=["b", "a", "b"], foo="bar")
    i = rec.image
    assert (i.status, i.visibility, i.protected, i.os_hidden) == ("queued", "shared", False, False)
    assert (i.min_disk, i.min_ram, i.owner) == (0, 0, "P1")
    assert i.created_at == i.updated_at
    got = await images.get(deps, personas.p1_member, i.id)
    assert got.tags == ["a", "b"]
    assert got.properties == {"foo": "bar"}


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"visibility": "bogus"}, InvalidInput),
        ({"disk_format": "exe"}, InvalidInput),
        ({"min_ram": -1}, InvalidInput),
        ({"protected": "yes"}, InvalidInput),
        ({"name": "x" * 256}, InvalidInput),
        ({"custom": 5}, InvalidInput),
        ({"status": "active"}, Forbidden),
        ({"checksum": "0" * 32}, Forbidden),
        ({"os_glance_import_task": "x"}, Forbidden),
        ({"deleted": True}, Forbidden),
        ({"owner": "P2"}, Forbidden),
        ({"visibility": "public"}, Forbidden),
        ({"id": "not-a-uuid"}, InvalidInput),
    ],
)
async def test_create_rejects(
    deps: Any, personas: Personas, values: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        await make_image(deps, personas.p1_member, **values)


async def test_duplicate_id_conflicts(deps: Any, personas: Personas) -> None:
    rec = await make_image(deps, personas.p1_member)
    with pytest.raises(Conflict):
        await make_image(deps, personas.p1_member, id=rec.image.id)


async def test_reader_cannot_create_and_admin_can_publicize(deps: Any, personas: Personas) -> None:
    with pytest.raises(Forbidden):
        await make_image(deps, personas.p1_reader)
    rec = await make_image(deps, personas.admin, visibility="public", owner="P9")
    assert (rec.image.visibility, rec.image.owner) == ("public", "P9")


async def test_invisible_images_are_not_found(deps: Any, personas: Personas) -> None:
    private = await make_image(deps, personas.p1_member, visibility="private")
    for who in (personas.p2_member, personas.no_project):
        with pytest.raises(NotFound):
            await images.get(deps, who, private.image.id)
        with pytest.raises(NotFound):
            await images.update(
                deps, who, private.image.id, ImagePatch([PatchOp("replace", "name", "x")])
            )
        with pytest.raises(NotFound):
            await images.delete(deps, who, private.image.id)
    with pytest.raises(NotFound):
        await images.get(deps, personas.p1_member, "not-a-uuid")


async def test_visible_but_not_writable_is_forbidden(deps: Any, personas: Personas) -> None:
    public = await make_image(deps, personas.admin, visibility="public")
    with pytest.raises(Forbidden):
        await images.update(
            deps, personas.p2_member, public.image.id, ImagePatch([PatchOp("replace", "name", "x")])
        )


async def test_update_semantics(deps: Any, personas: Personas) -> None:
    who = personas.p1_member
    rec = await make_image(deps, who, foo="1")
    iid = rec.image.id
    out = await images.update(
        deps,
        who,
        iid,
        ImagePatch(
            [
                PatchOp("replace", "name", "renamed"),
                PatchOp("add", "bar", "2"),
                PatchOp("replace", "foo", "3"),
                PatchOp("replace", "tags", ["x", "x", "y"]),
            ]
        ),
    )
    assert out.image.name == "renamed"
    assert out.properties == {"foo": "3", "bar": "2"}
    assert out.tags == ["x", "y"]
    with pytest.raises(Conflict):
        await images.update(deps, who, iid, ImagePatch([PatchOp("replace", "missing", "v")]))
    with pytest.raises(Conflict):
        await images.update(deps, who, iid, ImagePatch([PatchOp("remove", "missing")]))
    with pytest.raises(Forbidden):
        await images.update(deps, who, iid, ImagePatch([PatchOp("remove", "name")]))
    with pytest.raises(Conflict):
        await images.update(
            deps, who, iid, ImagePatch([PatchOp("add", "name", "z")], add_must_be_new=True)
        )
    # All or nothing: a failing op leaves earlier ops unapplied.
    with pytest.raises(Forbidden):
        await images.update(
            deps,
            who,
            iid,
            ImagePatch(
                [PatchOp("replace", "name", "partial"), PatchOp("replace", "status", "active")]
            ),
        )
    assert (await images.get(deps, who, iid)).image.name == "renamed"


async def test_tags_and_properties_operations(deps: Any, personas: Personas) -> None:
    who = personas.p1_member
    iid = (await make_image(deps, who)).image.id
    await images.add_tag(deps, who, iid, "t1")
    await images.add_tag(deps, who, iid, "t1")  # idempotent
    assert (await images.get(deps, who, iid)).tags == ["t1"]
    await images.remove_tag(deps, who, iid, "t1")
    with pytest.raises(NotFound):
        await images.remove_tag(deps, who, iid, "t1")
    await images.set_property(deps, who, iid, "k", "v")
    assert (await images.get(deps, who, iid)).properties == {"k": "v"}
    await images.remove_property(deps, who, iid, "k")
    assert (await images.get(deps, who, iid)).properties == {}


async def test_tag_quota(deps: Any, personas: Personas) -> None:
    from dataclasses import replace

    deps.settings = replace(deps.settings, quotas=replace(deps.settings.quotas, tags_per_image=2))
    iid = (await make_image(deps, personas.p1_member, tags=["a", "b"])).image.id
    with pytest.raises(QuotaExceeded):
        await images.add_tag(deps, personas.p1_member, iid, "c")


async def test_delete_is_soft_and_protected_refuses(deps: Any, personas: Personas) -> None:
    who = personas.p1_member
    prot = await make_image(deps, who, protected=True)
    with pytest.raises(Forbidden):
        await images.delete(deps, who, prot.image.id)
    rec = await make_image(deps, who)
    await images.delete(deps, who, rec.image.id)
    with pytest.raises(NotFound):
        await images.get(deps, who, rec.image.id)
    with pytest.raises(NotFound):
        await images.delete(deps, who, rec.image.id)
    async with deps.db.read() as s:
        row = await s.get(Image, rec.image.id)
        assert row is not None
        assert row.deleted
        assert row.status == "deleted"
        assert row.deleted_at is not None


async def test_every_change_is_logged_with_actor(deps: Any, personas: Personas) -> None:
    who = personas.p1_member
    iid = (await make_image(deps, who)).image.id
    await images.add_tag(deps, who, iid, "t")
    await images.update(deps, who, iid, ImagePatch([PatchOp("replace", "name", "n2")]))
    await images.delete(deps, who, iid)
    async with deps.db.read() as s:
        evs = (
            await s.exec(
                select(ImageEvent).where(ImageEvent.image_id == iid).order_by(ImageEvent.id)
            )
        ).all()
    assert [e.action for e in evs] == ["create", "add_tag", "update", "delete"]
    assert {(e.user_id, e.project_id) for e in evs} == {(who.principal.user_id, "P1")}
    assert evs[2].changes == {"name": "n2"}
    assert all(e.request_id for e in evs)


async def test_deactivate_reactivate_status_rules(deps: Any, personas: Personas) -> None:
    who = personas.p1_member
    iid = (await make_image(deps, who)).image.id
    with pytest.raises(Forbidden):  # queued images cannot be deactivated
        await images.deactivate(deps, who, iid)
    with pytest.raises(Forbidden):
        await images.reactivate(deps, who, iid)


async def test_formats_only_change_while_queued(deps: Any, personas: Personas) -> None:
    from sqlalchemy import update as sa_update

    who = personas.p1_member
    iid = (await make_image(deps, who, disk_format="raw", container_format="bare")).image.id
    await images.update(deps, who, iid, ImagePatch([PatchOp("replace", "disk_format", "qcow2")]))
    async with deps.db.begin() as s:
        await s.exec(
            sa_update(Image)
            .where(Image.id == iid)  # type: ignore[arg-type]
            .values(status="active")
        )
    with pytest.raises(Forbidden):
        await images.update(deps, who, iid, ImagePatch([PatchOp("replace", "disk_format", "raw")]))
