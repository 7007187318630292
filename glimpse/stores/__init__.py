"""Blob stores: where image bytes live (filesystem, S3, memory) and the upload stream."""

from glimpse.stores.base import BlobStore, StoredBlob
from glimpse.stores.registry import StoreRegistry, build_store, build_stores

__all__ = ["BlobStore", "StoreRegistry", "StoredBlob", "build_store", "build_stores"]
