"""build_stores: from settings to named drivers, default store, URI ownership."""

from __future__ import annotations

from pathlib import Path

import pytest

from glimpse.core.config import Settings, StoreConfig
from glimpse.core.errors import InvalidInput
from glimpse.stores import build_stores
from glimpse.stores.filesystem import FilesystemStore
from glimpse.stores.memory import MemoryStore
from glimpse.stores.s3 import S3Store
from tests.stores.drivers import chunks_of


def settings(*stores: StoreConfig, default: str = "local", data_dir: Path = Path(".")) -> Settings:
    return Settings(data_dir=data_dir, stores=stores, default_store=default)


async def test_default_is_a_filesystem_store_under_the_data_dir(tmp_path: Path) -> None:
    registry = build_stores(settings(data_dir=tmp_path))
    store = registry.default
    assert isinstance(store, FilesystemStore)
    assert store.root == (tmp_path / "images").resolve()
    assert registry.names == ("local",)
    await registry.close()


async def test_several_stores_by_name(tmp_path: Path) -> None:
    registry = build_stores(
        settings(
            StoreConfig("fast", "filesystem", options={"path": str(tmp_path / "fast")}),
            StoreConfig("mem", "memory", read_only=True),
            StoreConfig("cold", "s3", options={"bucket": "cold-images"}),
            default="fast",
        )
    )
    assert isinstance(registry.get("fast"), FilesystemStore)
    assert isinstance(registry.get("mem"), MemoryStore)
    assert registry.get("mem").read_only
    assert isinstance(registry.get("cold"), S3Store)
    assert registry.get(None) is registry.default is registry.get("fast")
    assert "cold" in registry
    with pytest.raises(InvalidInput, match="unknown store 'nope'"):
        registry.get("nope")
    await registry.close()


async def test_for_uri_finds_the_owner(tmp_path: Path) -> None:
    registry = build_stores(
        settings(
            StoreConfig("a", "filesystem", options={"path": str(tmp_path / "a")}),
            StoreConfig("b", "filesystem", options={"path": str(tmp_path / "b")}),
            StoreConfig("s3", "s3", options={"bucket": "bkt", "prefix": "p/"}),
            default="a",
        )
    )
    blob = await registry.get("b").put("img", chunks_of(b"x"))
    assert registry.for_uri(blob.uri) is registry.get("b")
    assert registry.for_uri("s3://bkt/p/img") is registry.get("s3")
    assert registry.for_uri("s3://bkt/other") is None
    assert registry.for_uri("http://example.com/img") is None
    await registry.close()


@pytest.mark.parametrize(
    ("stores", "default", "message"),
    [
        ((StoreConfig("x", "ftp"),), "x", "unknown type"),
        ((StoreConfig("x", "filesystem"),), "x", "'path' is required"),
        ((StoreConfig("x", "s3"),), "x", "'bucket' is required"),
        ((StoreConfig("x", "memory"), StoreConfig("y", "memory")), "z", "default store 'z'"),
        ((StoreConfig("x", "memory"), StoreConfig("x", "memory")), "x", "configured twice"),
    ],
)
def test_bad_configuration_is_reported(
    stores: tuple[StoreConfig, ...], default: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_stores(settings(*stores, default=default))


def test_single_store_is_default_whatever_its_name() -> None:
    registry = build_stores(settings(StoreConfig("only", "memory"), default="local"))
    assert registry.default_name == "only"
