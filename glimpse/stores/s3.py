"""A blob store on S3 or an S3-compatible service, via aioboto3.

Uploads stream: chunks are buffered up to ``part_size`` and sent as multipart parts, at
most ``max_concurrency`` in flight, so memory stays at about
``(max_concurrency + 1) * part_size`` whatever the image size. Blobs smaller than one
part go up with a single ``put_object``. Any failure, including the caller's iterator
raising or the task being cancelled, aborts the multipart upload so no parts linger (and
keep costing money). Reads are ranged, streamed GETs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterator, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aioboto3
import aiohttp
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from glimpse.core.errors import InvalidInput, NotFound, StoreUnavailable
from glimpse.stores.base import BlobInfo, StoredBlob
from glimpse.stores.keys import check_key, check_range

MiB = 1 << 20
MIN_PART_SIZE = 5 * MiB
READ_CHUNK = MiB
PARTS_PER_TIER = 1000
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


@contextlib.contextmanager
def translate_s3_errors(store: str, uri: str = "") -> Iterator[None]:
    """Map botocore failures to NotFound (missing object) or StoreUnavailable."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _MISSING_CODES:
            raise NotFound(f"blob not found in store {store!r}", internal=uri) from exc
        raise StoreUnavailable(
            f"store {store!r} failed: {code or 'error'}", internal=str(exc)
        ) from exc
    except (BotoCoreError, aiohttp.ClientError, OSError) as exc:  # OSError covers timeouts
        raise StoreUnavailable(f"store {store!r} is unreachable", internal=str(exc)) from exc


class S3Store:
    """Blobs as objects ``<prefix><key>`` in ``bucket``; URIs look like ``s3://bucket/key``.

    Options: ``endpoint_url``, ``region``, ``bucket`` (required), ``prefix``,
    ``access_key``, ``secret_key``, ``part_size`` (default 8 MiB, min 5 MiB),
    ``max_concurrency`` (parts in flight, default 3), ``addressing_style``
    (``auto``/``path``/``virtual``), ``create_bucket`` (create it on first use).
    """

    def __init__(self, name: str, options: Mapping[str, Any], *, read_only: bool = False) -> None:
        self.name = name
        self.read_only = read_only
        self.bucket = str(options.get("bucket") or "")
        if not self.bucket:
            raise InvalidInput(f"store {name!r}: option 'bucket' is required")
        self.prefix = str(options.get("prefix", "")).lstrip("/")
        self.part_size = max(MIN_PART_SIZE, int(options.get("part_size", 8 * MiB)))
        self.max_concurrency = max(1, int(options.get("max_concurrency", 3)))
        self._create_bucket = _flag(options.get("create_bucket", False))
        self._endpoint_url = options.get("endpoint_url") or None
        self._session = aioboto3.Session(
            aws_access_key_id=options.get("access_key") or None,
            aws_secret_access_key=options.get("secret_key") or None,
            region_name=options.get("region") or "us-east-1",
        )
        self._config = Config(
            s3={"addressing_style": options.get("addressing_style", "auto")},
            signature_version="s3v4",
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=max(10, 2 * self.max_concurrency),
            # Glimpse hashes every byte already; skip botocore's extra CRC pass per part.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._stack = AsyncExitStack()
        self._client: Any = None
        self._client_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    # -- naming -------------------------------------------------------------------------

    def owns(self, uri: str) -> bool:
        """Whether ``uri`` is an object of this bucket under this store's prefix."""
        return uri.startswith(f"s3://{self.bucket}/{self.prefix}")

    def key_of(self, uri: str) -> str | None:
        """The key ``uri`` names in this store, or None when it is not ours."""
        return uri[len(f"s3://{self.bucket}/{self.prefix}") :] if self.owns(uri) else None

    def _uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def _object_key(self, uri: str) -> str:
        if not self.owns(uri):
            raise NotFound(f"{uri} does not belong to store {self.name!r}")
        return uri[len(f"s3://{self.bucket}/") :]

    # -- client -------------------------------------------------------------------------

    async def _s3(self) -> Any:
        """The shared client, created (and the bucket ensured) on first use."""
        if self._client is not None:
            return self._client
        async with self._client_lock:
            if self._client is None:
                with translate_s3_errors(self.name):
                    client = await self._stack.enter_async_context(
                        self._session.client(
                            "s3", endpoint_url=self._endpoint_url, config=self._config
                        )
                    )
                    if self._create_bucket:
                        await _ensure_bucket(client, self.bucket)
                self._client = client
        return self._client

    async def close(self) -> None:
        """Close the HTTP client; the store can be used again afterwards."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        self._client = None
        await self._stack.aclose()

    # -- writing ------------------------------------------------------------------------

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredBlob:
        """Single PUT for blobs below ``part_size``, streamed multipart upload otherwise."""
        check_key(key)
        if self.read_only:
            raise StoreUnavailable(f"store {self.name!r} is read-only")
        client = await self._s3()
        object_key = self.prefix + key
        parts = _parts(chunks, self.part_size)
        async with contextlib.aclosing(parts):
            first = await anext(parts, b"")
            second = await anext(parts, b"") if first else b""
            if not second:
                with translate_s3_errors(self.name):
                    await client.put_object(Bucket=self.bucket, Key=object_key, Body=first)
                size = len(first)
            else:
                size = await self._multipart(client, object_key, _prepend(first, second, parts))
        return StoredBlob(uri=self._uri(key), size=size)

    async def _multipart(self, client: Any, object_key: str, parts: AsyncIterator[bytes]) -> int:
        """Upload ``parts`` as one multipart upload; abort it on any failure."""
        with translate_s3_errors(self.name):
            upload = await client.create_multipart_upload(Bucket=self.bucket, Key=object_key)
        upload_id: str = upload["UploadId"]
        uploader = _PartUploader(self, client, object_key, upload_id)
        try:
            size = await uploader.run(parts)
            with translate_s3_errors(self.name):
                await client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=object_key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": uploader.completed_parts()},
                )
        except BaseException:
            await self._abort_shielded(uploader)
            raise
        return size

    async def _abort_shielded(self, uploader: _PartUploader) -> None:
        """Abort in a task of its own so a (repeated) cancellation cannot skip it."""
        task = asyncio.ensure_future(uploader.abort())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        with contextlib.suppress(BaseException):
            await asyncio.shield(task)

    # -- reading ------------------------------------------------------------------------

    def open(self, uri: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Yield ``[start, end)`` from a ranged, streamed GET (see ``keys.ByteRange``)."""
        check_range(start, end)
        return self._read(self._object_key(uri), uri, start, end)

    async def _read(
        self, object_key: str, uri: str, start: int, end: int | None
    ) -> AsyncIterator[bytes]:
        header = _range_header(start, end)
        if header == "":  # empty range: no GET, but a missing blob is still NotFound
            if await self.stat(uri) is None:
                raise NotFound(f"blob not found in store {self.name!r}", internal=uri)
            return
        client = await self._s3()
        extra = {"Range": header} if header else {}
        try:
            with translate_s3_errors(self.name, uri):
                response = await client.get_object(Bucket=self.bucket, Key=object_key, **extra)
        except StoreUnavailable as exc:
            if _is_invalid_range(exc):  # start at or past the end: empty, as in every driver
                return
            raise
        body = response["Body"]
        try:
            while True:
                with translate_s3_errors(self.name, uri):
                    chunk = await body.read(READ_CHUNK)
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    async def stat(self, uri: str) -> int | None:
        """Size from HEAD, ``None`` when absent."""
        client = await self._s3()
        try:
            with translate_s3_errors(self.name, uri):
                head = await client.head_object(Bucket=self.bucket, Key=self._object_key(uri))
        except NotFound:
            return None
        return int(head["ContentLength"])

    async def delete(self, uri: str) -> None:
        """Delete the object; S3 deletes are idempotent."""
        client = await self._s3()
        with translate_s3_errors(self.name, uri):
            await client.delete_object(Bucket=self.bucket, Key=self._object_key(uri))

    async def blobs(self) -> AsyncIterator[BlobInfo]:
        """Every object under this store's prefix, page by page."""
        client = await self._s3()
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        with translate_s3_errors(self.name):
            async for page in pages:
                for obj in page.get("Contents", []):
                    uri = f"s3://{self.bucket}/{obj['Key']}"
                    yield BlobInfo(uri, int(obj["Size"]), obj["LastModified"].timestamp())

    async def discard_partial(self, before: float) -> int:
        """Abort multipart uploads started before ``before`` (a writer that died between
        parts; a live one aborts its own on failure), so their parts stop costing storage."""
        client = await self._s3()
        aborted = 0
        with translate_s3_errors(self.name):
            pages = client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            async for page in pages:
                for up in page.get("Uploads", []):
                    if up["Initiated"].timestamp() < before:
                        await client.abort_multipart_upload(
                            Bucket=self.bucket, Key=up["Key"], UploadId=up["UploadId"]
                        )
                        aborted += 1
        return aborted

    def local_path(self, uri: str) -> Path | None:
        """Objects are never local files."""
        return None

    async def presign(self, uri: str, expires_seconds: int = 300) -> str | None:
        """A time-limited GET URL, so clients can download straight from S3."""
        client = await self._s3()
        with translate_s3_errors(self.name, uri):
            url: str = await client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._object_key(uri)},
                ExpiresIn=expires_seconds,
            )
        return url


class _PartUploader:
    """Uploads the parts of one multipart upload with at most ``max_concurrency`` in flight."""

    def __init__(self, store: S3Store, client: Any, object_key: str, upload_id: str) -> None:
        self._store = store
        self._client = client
        self._key = object_key
        self._upload_id = upload_id
        self._etags: dict[int, str] = {}
        self._pending: set[asyncio.Task[None]] = set()

    async def run(self, parts: AsyncIterator[bytes]) -> int:
        """Send every part; returns the total size. Part errors surface promptly."""
        size = 0
        number = 0
        async for body in parts:
            while len(self._pending) >= self._store.max_concurrency:
                await self._wait(asyncio.FIRST_COMPLETED)
            number += 1
            size += len(body)
            self._pending.add(asyncio.create_task(self._upload(number, body)))
        while self._pending:
            await self._wait(asyncio.FIRST_EXCEPTION)
        return size

    async def _wait(self, when: str) -> None:
        done, self._pending = await asyncio.wait(self._pending, return_when=when)
        errors = [e for e in (task.exception() for task in done) if e is not None]
        if errors:
            raise errors[0]

    async def _upload(self, number: int, body: bytes) -> None:
        with translate_s3_errors(self._store.name):
            response = await self._client.upload_part(
                Bucket=self._store.bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=body,
            )
        self._etags[number] = response["ETag"]

    def completed_parts(self) -> list[dict[str, Any]]:
        return [{"PartNumber": n, "ETag": tag} for n, tag in sorted(self._etags.items())]

    async def abort(self) -> None:
        """Stop parts in flight first, so none lands after the abort, then abort."""
        for task in self._pending:
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        with contextlib.suppress(ClientError, BotoCoreError, OSError):
            await self._client.abort_multipart_upload(
                Bucket=self._store.bucket, Key=self._key, UploadId=self._upload_id
            )


async def _parts(chunks: AsyncIterable[bytes], part_size: int) -> AsyncGenerator[bytes, None]:
    """Regroup chunks into parts of at least the current part size (the last may be smaller).

    S3 allows 10,000 parts per upload, so the part size doubles every 1,000 parts: 8 MiB
    parts cover 8 GB, and a 1 TiB image still fits (with up to 512 MiB parts).
    """
    buffer = bytearray()
    produced = 0
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) >= part_size << (produced // PARTS_PER_TIER):
            yield bytes(buffer)
            buffer.clear()
            produced += 1
    if buffer:
        yield bytes(buffer)


async def _prepend(first: bytes, second: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    yield second
    async for part in rest:
        yield part


def _range_header(start: int, end: int | None) -> str | None:
    """HTTP Range for ``open``: ``None`` for the whole object, ``""`` for an empty range."""
    if start < 0:
        return f"bytes={start}"
    if end is None:
        return None if start == 0 else f"bytes={start}-"
    if end <= start:
        return ""
    return f"bytes={start}-{end - 1}"


def _is_invalid_range(exc: StoreUnavailable) -> bool:
    cause = exc.__cause__
    return isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in {
        "InvalidRange",
        "416",
    }


async def _ensure_bucket(client: Any, bucket: str) -> None:
    """Create ``bucket`` unless it exists (racing creators are fine)."""
    try:
        await client.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) not in {"404", "NoSuchBucket"}:
            raise
    try:
        await client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}
