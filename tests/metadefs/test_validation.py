"""The optional ``validate_image_properties`` setting: image property values are checked
against the metadef definitions that apply to images, on create and on update."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio

from glimpse.core.config import Settings
from glimpse.core.errors import InvalidInput
from glimpse.resolvers import images
from glimpse.resolvers.images import ImageCreate, ImagePatch, PatchOp
from glimpse.resolvers.metadef_catalog import import_documents
from glimpse.resolvers.metadef_checks import check_value
from tests.conftest import Personas, ctx

DOC = {
    "namespace": "Test::Rules",
    "visibility": "public",
    "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"}],
    "properties": {
        "policy": {"title": "Policy", "type": "string", "enum": ["shared", "dedicated"]},
        "cores": {"title": "Cores", "type": "integer", "minimum": 1, "maximum": 8},
        "ratio": {"title": "Ratio", "type": "number", "maximum": 1.5},
        "secure": {"title": "Secure", "type": "boolean"},
        "serial": {"title": "Serial", "type": "string", "pattern": "^[A-Z]{3}[0-9]+$"},
    },
}
UNASSOCIATED = {
    "namespace": "Test::Flavor",
    "visibility": "public",
    "resource_type_associations": [{"name": "OS::Nova::Flavor"}],
    "properties": {"hw_cores": {"title": "x", "type": "integer", "maximum": 1}},
}


async def _deps(settings: Settings, validate: bool) -> AsyncIterator[Any]:
    from glimpse.app import build_deps

    d = build_deps(replace(settings, validate_image_properties=validate))
    await import_documents(d, ctx("admin", "admin"), [DOC, UNASSOCIATED])
    try:
        yield d
    finally:
        await d.stores.close()
        await d.db.dispose()


@pytest_asyncio.fixture
async def strict(settings: Settings) -> AsyncIterator[Any]:
    async for d in _deps(settings, True):
        yield d


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("hw_policy", "mixed", "enum"),
        ("hw_cores", "four", "type integer"),
        ("hw_cores", "0", "minimum 1"),
        ("hw_cores", "9", "maximum 8"),
        ("hw_ratio", "2.5", "maximum 1.5"),
        ("hw_ratio", "nan", "type number"),
        ("hw_secure", "yes", "boolean"),
        ("hw_serial", "abc1", "pattern"),
    ],
)
async def test_invalid_values_are_rejected_naming_property_and_rule(
    strict: Any, personas: Personas, name: str, value: str, rule: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        await images.create(strict, personas.p1_member, ImageCreate({"name": "x", name: value}))
    assert f"property '{name}'" in err.value.message
    assert rule in err.value.message
    assert "Test::Rules" in err.value.message


async def test_valid_values_pass_and_update_is_checked(strict: Any, personas: Personas) -> None:
    values = {
        "hw_policy": "dedicated",
        "hw_cores": "8",
        "hw_ratio": "1.5",
        "hw_secure": "True",
        "hw_serial": "ABC123",
        "unrelated": "anything",
    }
    rec = await images.create(strict, personas.p1_member, ImageCreate({"name": "x", **values}))
    assert rec.properties["hw_cores"] == "8"
    with pytest.raises(InvalidInput, match=r"hw_cores.*maximum 8"):
        await images.update(
            strict,
            personas.p1_member,
            rec.image.id,
            ImagePatch([PatchOp("replace", "hw_cores", "12")]),
        )
    updated = await images.update(
        strict,
        personas.p1_member,
        rec.image.id,
        ImagePatch([PatchOp("replace", "hw_cores", "2"), PatchOp("remove", "hw_policy")]),
    )
    assert updated.properties["hw_cores"] == "2"
    assert "hw_policy" not in updated.properties


async def test_off_by_default(settings: Settings, personas: Personas) -> None:
    assert Settings().validate_image_properties is False
    async for lax in _deps(settings, False):
        rec = await images.create(lax, personas.p1_member, ImageCreate({"hw_cores": "99"}))
        assert rec.properties == {"hw_cores": "99"}


async def test_rest_answers_400(strict: Any, settings: Settings) -> None:
    import httpx

    from glimpse.app import create_app
    from tests.conftest import token

    app = create_app(replace(settings, validate_image_properties=True))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            h = {
                "X-Auth-Token": token(settings, "P1", "member", "reader"),
                "Accept": "application/json",
            }
            r = await client.post("/v2/images", json={"name": "x", "hw_policy": "bad"}, headers=h)
            assert r.status_code == 400
            assert "hw_policy" in r.json()["message"]
            r = await client.post("/v2/images", json={"hw_policy": "shared"}, headers=h)
            assert r.status_code == 201


def test_check_value_table() -> None:
    integer = {"type": "integer", "enum": [1, 2]}
    assert check_value("n", integer, "2") is None
    assert "enum" in (check_value("n", integer, "3") or "")
    assert check_value("s", {"type": "string", "minLength": 2}, "a") is not None
    assert check_value("s", {"type": "string", "maxLength": 2}, "abc") is not None
    assert check_value("a", {"type": "array", "items": {"type": "string"}}, "x y") is None
