"""SQLModel tables of the image catalog.

Times are naive UTC with microseconds (see glimpse.core.clock). Sizes are BIGINT: images larger
than 2 GiB are ordinary. Soft-deleted images keep their row (``deleted``/``deleted_at``) so the
operation log and task history stay meaningful.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlmodel import Field, SQLModel

from glimpse.core.clock import utcnow

_BIGID = BigInteger().with_variant(Integer(), "sqlite")


def _fk(target: str) -> Any:
    return Column(String(36), ForeignKey(target, ondelete="CASCADE"), primary_key=True)


class Image(SQLModel, table=True):
    """One image: the Glance base properties plus lock and soft-delete bookkeeping."""

    __tablename__ = "images"
    __table_args__ = (
        Index("ix_images_created_id", "created_at", "id"),
        Index("ix_images_owner_created", "owner", "created_at"),
        Index("ix_images_visibility_created", "visibility", "created_at"),
        Index("ix_images_status", "status"),
        Index("ix_images_name", "name"),
    )

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    name: str | None = Field(default=None, max_length=255)
    status: str = Field(default="queued", max_length=30)
    visibility: str = Field(default="shared", max_length=20)
    protected: bool = False
    os_hidden: bool = False
    owner: str | None = Field(default=None, max_length=255)
    min_disk: int = 0
    min_ram: int = 0
    disk_format: str | None = Field(default=None, max_length=20)
    container_format: str | None = Field(default=None, max_length=20)
    size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    virtual_size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    checksum: str | None = Field(default=None, max_length=32)
    os_hash_algo: str | None = Field(default=None, max_length=64)
    os_hash_value: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    deleted: bool = False
    deleted_at: datetime | None = Field(default=None, sa_type=DateTime())
    # Data-path lock: who is writing this image's data and until when (renewed while streaming).
    lock_owner: str | None = Field(default=None, max_length=64)
    lock_expires_at: datetime | None = Field(default=None, sa_type=DateTime())


class ImageProperty(SQLModel, table=True):
    """A custom (non-base) property: always a string value, as in Glance."""

    __tablename__ = "image_properties"
    __table_args__ = (Index("ix_image_properties_name_value", "name", "value"),)

    image_id: str = Field(sa_column=_fk("images.id"))
    name: str = Field(sa_column=Column(String(255), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))


class ImageTag(SQLModel, table=True):
    """A tag; the primary key gives set semantics."""

    __tablename__ = "image_tags"
    __table_args__ = (Index("ix_image_tags_value", "value"),)

    image_id: str = Field(sa_column=_fk("images.id"))
    value: str = Field(sa_column=Column(String(255), primary_key=True))


class ImageMember(SQLModel, table=True):
    """A project an image is shared with, and whether that project accepted it."""

    __tablename__ = "image_members"
    __table_args__ = (Index("ix_image_members_member_status", "member", "status"),)

    image_id: str = Field(sa_column=_fk("images.id"))
    member: str = Field(sa_column=Column(String(255), primary_key=True))
    status: str = Field(default="pending", max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())


class ImageLocation(SQLModel, table=True):
    """Where an image's data lives: one row per store holding a copy."""

    __tablename__ = "image_locations"
    __table_args__ = (Index("ix_image_locations_image", "image_id"),)

    id: int | None = Field(default=None, primary_key=True)
    image_id: str = Field(
        sa_column=Column(String(36), ForeignKey("images.id", ondelete="CASCADE"), nullable=False)
    )
    store: str = Field(max_length=255)
    url: str = Field(sa_column=Column(Text, nullable=False))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="active", max_length=30)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())


class ImageEvent(SQLModel, table=True):
    """The operation log: who did what to an image, when, with which change."""

    __tablename__ = "image_events"
    __table_args__ = (Index("ix_image_events_image_id", "image_id", "id"),)

    # BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
    id: int | None = Field(default=None, sa_column=Column(_BIGID, primary_key=True))
    image_id: str = Field(sa_column=Column(String(36), nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    action: str = Field(max_length=64)
    user_id: str | None = Field(default=None, max_length=255)
    project_id: str | None = Field(default=None, max_length=255)
    request_id: str | None = Field(default=None, max_length=64)
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Task(SQLModel, table=True):
    """A durable asynchronous job; the table is the queue (see glimpse.tasks)."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_status_available", "status", "available_at"),
        Index("ix_tasks_owner_created", "owner", "created_at"),
        Index("ix_tasks_image", "image_id"),
    )

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    type: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=30)
    input: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    owner: str | None = Field(default=None, max_length=255)
    user_id: str | None = Field(default=None, max_length=255)
    image_id: str | None = Field(default=None, max_length=36)
    request_id: str | None = Field(default=None, max_length=64)
    progress: int = 0
    attempts: int = 0
    available_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = Field(default=None, sa_type=DateTime())
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    expires_at: datetime | None = Field(default=None, sa_type=DateTime())
    deleted: bool = False
    deleted_at: datetime | None = Field(default=None, sa_type=DateTime())


class User(SQLModel, table=True):
    """A local account of the embedded default (deployments without an identity provider).

    ``password_hash`` is an argon2id PHC string; the clear password is never stored. ``roles``
    is a comma-separated list, as Keystone's ``X-Roles`` header carries them.
    """

    __tablename__ = "users"

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    name: str = Field(sa_column=Column(String(255), nullable=False, unique=True))
    project: str | None = Field(default=None, max_length=255)
    roles: str = Field(default="", max_length=1024)
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())


class CachedImage(SQLModel, table=True):
    """An image in (or queued for) the local cache of one node; the file itself lives on
    that node's disk (glimpse.stores.localcache). ``state`` is ``queued``, ``caching``
    (a prefetch claimed it) or ``cached``."""

    __tablename__ = "cached_images"
    __table_args__ = (
        Index("ix_cached_images_node_state_access", "node", "state", "last_accessed"),
    )

    node: str = Field(sa_column=Column(String(255), primary_key=True))
    image_id: str = Field(sa_column=Column(String(36), primary_key=True))
    state: str = Field(default="queued", max_length=20)
    size: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    hits: int = 0
    last_accessed: datetime = Field(default_factory=utcnow, sa_type=DateTime())
    last_modified: datetime = Field(default_factory=utcnow, sa_type=DateTime())


class LoginThrottle(SQLModel, table=True):
    """Failed-login counters shared by every server process (glimpse.resolvers.logins).

    ``key`` is a hash of what is counted (a client address, a user name, or the pair), so
    attacker-chosen names are neither stored nor able to make keys long. A row counts the
    failures of one window; rows whose window ended are deleted.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_expires", "expires_at"),)

    key: str = Field(sa_column=Column(String(64), primary_key=True))
    kind: str = Field(max_length=8)
    failures: int = 0
    expires_at: datetime = Field(default_factory=utcnow, sa_type=DateTime())


class UsedLink(SQLModel, table=True):
    """A signed link already redeemed: links are single-use (glimpse.resolvers.links).
    Rows are kept until the link would have expired anyway, then purged."""

    __tablename__ = "used_links"
    __table_args__ = (Index("ix_used_links_expires_at", "expires_at"),)

    jti: str = Field(sa_column=Column(String(64), primary_key=True))
    expires_at: datetime = Field(sa_type=DateTime())


metadata = SQLModel.metadata


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a model, typed (SQLModel leaves ``__table__`` untyped)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


# Registers the metadefs tables on the same metadata (migrations, test clean-up).
from glimpse.models import metadef_tables as _metadef_tables  # noqa: E402, F401
