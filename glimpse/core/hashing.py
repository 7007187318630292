"""The "multihash" algorithm: which secure hash fills ``os_hash_value``.

Glance computes ``os_hash_value`` with the algorithm named by its ``hashing_algorithm``
option (default sha512) and records that name in ``os_hash_algo``, so consumers know how
to verify the data. Glimpse offers the same setting. New data is hashed with the
configured algorithm; data that is copied or verified is hashed with the algorithm the
image already records, so a recorded value stays checkable after the setting changed.

The setting accepts the fixed-length secure hashes every Python build guarantees
(``hashlib.algorithms_guaranteed``), which is also what Glance recommends for
interoperability. md5 and sha1 are refused (md5 is already ``checksum``; neither is
secure) and so are the SHAKE functions, whose digests have no fixed length.
"""

from __future__ import annotations

import hashlib
from typing import Final

from glimpse.core.errors import InvalidInput

DEFAULT_ALGORITHM: Final = "sha512"

#: What ``hashing_algorithm`` may be set to.
ALGORITHMS: Final = frozenset(
    name
    for name in hashlib.algorithms_guaranteed
    if name not in {"md5", "sha1"} and not name.startswith("shake_")
)


def check_algorithm(name: str) -> str:
    """Return ``name`` when it may be configured, else raise :class:`InvalidInput`."""
    if name not in ALGORITHMS:
        allowed = ", ".join(sorted(ALGORITHMS))
        raise InvalidInput(f"hashing_algorithm {name!r} is not supported (one of: {allowed})")
    return name


def new_hash(name: str) -> hashlib._Hash:
    """A fresh hash object for ``name``.

    Beyond the configurable set this also accepts any fixed-length algorithm hashlib
    offers, so data recorded under another name (an image migrated from a Glance that used
    an unusual setting) can still be verified.
    """
    try:
        h = hashlib.new(name)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"unknown hash algorithm {name!r}") from exc
    if name.startswith("shake_"):
        raise InvalidInput(f"hash algorithm {name!r} has no fixed digest length")
    return h
