"""Optional check of image property values against the metadef definitions that apply to
images (namespaces associated with ``OS::Glance::Image``; names carry the association prefix).

Off by default (Glance does not check); ``validate_image_properties = true`` turns it on.
Kept apart from metadef_catalog so glimpse.resolvers.images can call it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.errors import InvalidInput
from glimpse.models.metadef_tables import MetadefObject, MetadefProperty
from glimpse.resolvers import metadef_checks as checks
from glimpse.resolvers import metadefs
from glimpse.resolvers.deps import Deps

IMAGE_RESOURCE_TYPE = "OS::Glance::Image"
N = metadefs.N


@dataclass(frozen=True)
class ImageDefinition:
    """A property definition applicable to images, under its prefixed name."""

    name: str
    namespace: str
    object_name: str | None
    schema: dict[str, Any]


def _image_scope(owner: str | None) -> ColumnElement[bool]:
    public = N.visibility == "public"
    return or_(public, N.owner == owner) if owner is not None else public


async def image_definitions(s: AsyncSession, visible: ColumnElement[bool]) -> list[ImageDefinition]:
    """Definitions applying to images in namespaces matching ``visible`` (two queries)."""
    A, R = metadefs.A, metadefs.R
    link = (
        (A.namespace_id == N.id)
        & (R.id == A.resource_type_id)
        & (R.name == IMAGE_RESOURCE_TYPE)
        & visible
    )
    out: list[ImageDefinition] = []
    props = select(N.namespace, A.prefix, MetadefProperty).where(
        link, col(MetadefProperty.namespace_id) == N.id
    )
    for ns_name, prefix, prop in (
        await s.exec(props.order_by(N.namespace, col(MetadefProperty.id)))
    ).all():
        out.append(ImageDefinition((prefix or "") + prop.name, ns_name, None, prop.json_schema))
    objs = select(N.namespace, A.prefix, MetadefObject).where(
        link, col(MetadefObject.namespace_id) == N.id
    )
    for ns_name, prefix, obj in (
        await s.exec(objs.order_by(N.namespace, col(MetadefObject.id)))
    ).all():
        for name, schema in obj.properties.items():
            out.append(ImageDefinition((prefix or "") + name, ns_name, obj.name, schema))
    return out


async def validate_image_properties(deps: Deps, owner: str | None, props: dict[str, str]) -> None:
    """With ``validate_image_properties`` on, reject values that break a definition that
    applies to images (public namespaces and the image owner's), naming property and rule.
    The definitions are read in a transaction of their own (they are not image data)."""
    if not deps.settings.validate_image_properties or not props:
        return
    problems = []
    async with deps.db.read() as s:
        definitions = await image_definitions(s, _image_scope(owner))
    for d in definitions:
        if d.name in props:
            problem = checks.check_value(d.name, d.schema, props[d.name])
            if problem:
                problems.append(f"{problem} [metadef {d.namespace}]")
    if problems:
        raise InvalidInput("Invalid image properties: " + "; ".join(sorted(set(problems))))
