"""The one neutral exception tree shared by every layer.

Resolvers, stores and policy raise these; the two edges translate them: the REST layer maps
``code`` to an HTTP status and Glance's error body, the GraphQL layer puts ``code`` into
``extensions.code``. No class here knows about HTTP.

    GlimpseError
    ├── InvalidInput            bad value, unknown filter/sort key, malformed cursor
    │   └── UnsupportedMediaType  wrong content type, data refused by format inspection
    ├── Unauthenticated         no, bad or expired credentials
    ├── Forbidden               visible target, action not allowed
    ├── NotFound                absent, deleted, or invisible to the caller
    ├── Conflict                state does not allow the operation (status, duplicate, lock)
    ├── Gone                    the target disappeared while we worked on it
    ├── QuotaExceeded           a per-project quota would be exceeded
    ├── PayloadTooLarge         body or image larger than the configured cap
    ├── RateLimited             too many attempts (failed logins); retry later
    ├── RangeNotSatisfiable     a download range outside the data
    ├── StoreUnavailable        a blob store failed or is unreachable
    │   └── IntegrityError      stored bytes no longer match the image's checksums
    └── ServiceUnavailable      a dependency (e.g. qemu-img) is missing or overloaded
"""

from __future__ import annotations

from typing import Any, ClassVar


class GlimpseError(Exception):
    """Base of every expected failure; ``code`` is stable and part of both APIs.

    ``message`` is shown to the caller and may be stored where others read it (task
    messages, image events), so it never carries server paths, internal endpoints or
    credentials: those go into the ``internal`` detail, which is only logged (with the
    request id), never rendered.
    """

    code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message

    @property
    def internal(self) -> str | None:
        """Details for the server log only (stderr of a tool, a path, an endpoint)."""
        value = self.details.get("internal")
        return str(value) if value is not None else None


class InvalidInput(GlimpseError):
    code = "INVALID_INPUT"


class UnsupportedMediaType(InvalidInput):
    code = "UNSUPPORTED_MEDIA_TYPE"


class Unauthenticated(GlimpseError):
    code = "UNAUTHENTICATED"


class Forbidden(GlimpseError):
    code = "FORBIDDEN"


class NotFound(GlimpseError):
    code = "NOT_FOUND"


class Conflict(GlimpseError):
    code = "CONFLICT"


class Gone(GlimpseError):
    code = "GONE"


class QuotaExceeded(GlimpseError):
    code = "QUOTA_EXCEEDED"


class PayloadTooLarge(GlimpseError):
    code = "PAYLOAD_TOO_LARGE"


class RateLimited(GlimpseError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class RangeNotSatisfiable(GlimpseError):
    code = "RANGE_NOT_SATISFIABLE"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message, size=size)
        self.size = size


class StoreUnavailable(GlimpseError):
    code = "STORE_UNAVAILABLE"


class IntegrityError(StoreUnavailable):
    """Data read back from a store does not hash to the recorded checksum/multihash."""

    code = "DATA_INTEGRITY"


class ServiceUnavailable(GlimpseError):
    code = "SERVICE_UNAVAILABLE"
