"""The configured blob stores, by name, built once at start-up from :class:`Settings`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol, runtime_checkable

from glimpse.core.config import Settings, StoreConfig
from glimpse.core.errors import InvalidInput
from glimpse.stores.base import BlobStore
from glimpse.stores.filesystem import FilesystemStore
from glimpse.stores.memory import MemoryStore


@runtime_checkable
class OwnsUri(Protocol):
    """Drivers that can tell whether a URI is theirs (all built-in drivers)."""

    def owns(self, uri: str) -> bool: ...


@runtime_checkable
class KeysUri(Protocol):
    """Drivers that can map one of their URIs back to its key (all built-in drivers)."""

    def key_of(self, uri: str) -> str | None: ...


def _filesystem(config: StoreConfig) -> BlobStore:
    path = config.options.get("path")
    if not path:
        raise InvalidInput(f"store {config.name!r}: option 'path' is required")
    return FilesystemStore(config.name, str(path), read_only=config.read_only)


def _s3(config: StoreConfig) -> BlobStore:
    # Imported on demand: botocore costs ~0.4 s and ~30 MB per process that never uses S3.
    from glimpse.stores.s3 import S3Store

    return S3Store(config.name, config.options, read_only=config.read_only)


def _memory(config: StoreConfig) -> BlobStore:
    return MemoryStore(config.name, read_only=config.read_only)


DRIVERS: Mapping[str, Callable[[StoreConfig], BlobStore]] = {
    "filesystem": _filesystem,
    "file": _filesystem,
    "s3": _s3,
    "memory": _memory,
}


class StoreRegistry:
    """Name -> store, the default store, and URI -> owning store."""

    def __init__(self, stores: Mapping[str, BlobStore], default: str) -> None:
        if default not in stores:
            raise InvalidInput(f"default store {default!r} is not among the configured stores")
        self._stores = dict(stores)
        self.default_name = default

    @property
    def default(self) -> BlobStore:
        """Where uploads go when the client names no store."""
        return self._stores[self.default_name]

    @property
    def names(self) -> tuple[str, ...]:
        """Store names in configuration order."""
        return tuple(self._stores)

    def __iter__(self) -> Iterator[BlobStore]:
        return iter(self._stores.values())

    def __contains__(self, name: object) -> bool:
        return name in self._stores

    def get(self, name: str | None) -> BlobStore:
        """The store called ``name`` (``None``: the default); unknown names are bad input."""
        if name is None:
            return self.default
        try:
            return self._stores[name]
        except KeyError:
            raise InvalidInput(f"unknown store {name!r}", store=name) from None

    def for_uri(self, uri: str) -> BlobStore | None:
        """The store that owns ``uri``, or ``None`` when no configured store does."""
        for store in self._stores.values():
            if isinstance(store, OwnsUri) and store.owns(uri):
                return store
        return None

    def locate(self, uri: str) -> tuple[BlobStore, str] | None:
        """The store owning ``uri`` and the key it names there (a copy target given as a
        location URL); ``None`` when no configured store owns it."""
        for store in self._stores.values():
            if isinstance(store, KeysUri):
                key = store.key_of(uri)
                if key:
                    return store, key
        return None

    async def close(self) -> None:
        """Close every store (HTTP clients, pools)."""
        for store in self._stores.values():
            await store.close()


def build_store(config: StoreConfig) -> BlobStore:
    """One driver instance from its configuration."""
    factory = DRIVERS.get(config.type)
    if factory is None:
        known = ", ".join(sorted(DRIVERS))
        raise InvalidInput(f"store {config.name!r}: unknown type {config.type!r} ({known})")
    return factory(config)


def build_stores(settings: Settings) -> StoreRegistry:
    """Instantiate every configured store (no I/O happens until first use)."""
    configs = settings.effective_stores
    stores: dict[str, BlobStore] = {}
    for config in configs:
        if config.name in stores:
            raise InvalidInput(f"store {config.name!r} is configured twice")
        stores[config.name] = build_store(config)
    default = settings.default_store
    if default not in stores and len(stores) == 1:
        default = next(iter(stores))
    return StoreRegistry(stores, default)
