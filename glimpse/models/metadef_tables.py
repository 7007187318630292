"""SQLModel tables of the metadata definitions catalog (Glance's "metadefs").

A namespace owns its objects, properties, tags and resource-type associations: the foreign keys
cascade, so deleting a namespace removes its contents in one statement on both databases.
Resource types are shared between namespaces and outlive them. Property and object schemas are
kept as JSON documents, exactly as given, so an import followed by an export is lossless.
Child rows have an auto-increment id: ordering by it keeps the order a document gave.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from glimpse.core.clock import utcnow


def _namespace_fk() -> Any:
    return Column(Integer, ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), nullable=False)


class MetadefNamespace(SQLModel, table=True):
    """A named group of definitions; ``namespace`` is its public, unique key."""

    __tablename__ = "metadef_namespaces"

    id: int | None = Field(default=None, primary_key=True)
    namespace: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    display_name: str | None = Field(default=None, max_length=80)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    visibility: str = Field(default="private", max_length=32)
    protected: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    owner: str | None = Field(default=None, max_length=255, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())


class MetadefResourceType(SQLModel, table=True):
    """A kind of cloud resource definitions apply to (``OS::Glance::Image``...)."""

    __tablename__ = "metadef_resource_types"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    protected: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())


class MetadefAssociation(SQLModel, table=True):
    """A namespace applies to a resource type, its property names prefixed by ``prefix``."""

    __tablename__ = "metadef_namespace_resource_types"
    __table_args__ = (UniqueConstraint("namespace_id", "resource_type_id"),)

    id: int | None = Field(default=None, primary_key=True)
    namespace_id: int = Field(sa_column=_namespace_fk())
    resource_type_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("metadef_resource_types.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    prefix: str | None = Field(default=None, max_length=80)
    properties_target: str | None = Field(default=None, max_length=80)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())


class MetadefObject(SQLModel, table=True):
    """A named group of properties inside a namespace (``required`` lists mandatory ones)."""

    __tablename__ = "metadef_objects"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    namespace_id: int = Field(sa_column=_namespace_fk())
    name: str = Field(sa_column=Column(String(80), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    required: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    properties: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())


class MetadefProperty(SQLModel, table=True):
    """One property definition; ``schema`` is its JSON schema without the name."""

    __tablename__ = "metadef_properties"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    namespace_id: int = Field(sa_column=_namespace_fk())
    name: str = Field(sa_column=Column(String(255), nullable=False))
    json_schema: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())


class MetadefTag(SQLModel, table=True):
    """A tag users may apply to resources, suggested by a namespace."""

    __tablename__ = "metadef_tags"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    namespace_id: int = Field(sa_column=_namespace_fk())
    name: str = Field(sa_column=Column(String(255), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
