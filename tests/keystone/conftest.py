"""A real Keystone for the session (see tests/keystone/server.py), provisioned with the
standard cast, and Glimpse configured to validate its tokens.

Keystone runs from its own virtualenv, which the fixture builds from PyPI on first use and
caches under ``~/.cache/glimpse-keystone``; memcached comes from Debian (scripts/bootstrap.sh).
Without memcached the tests skip, or fail under ``GLIMPSE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from glimpse.core.config import KeystoneSettings, Settings
from tests.conftest import make_settings, need_service
from tests.keystone import provision, server
from tests.keystone.server import Keystone

SERVICE_USER = "glimpse"


@pytest.fixture(scope="session")
def keystone() -> Iterator[Keystone]:
    """Keystone on loopback, bootstrapped and provisioned once per session."""
    if shutil.which("memcached") is None:
        need_service("memcached", "not installed (apt-get install memcached)")
    root = Path(tempfile.mkdtemp(prefix="glimpse-keystone-"))
    started = time.monotonic()
    ks = server.start_keystone(root)
    try:
        provision.provision(ks)
        provision.grant_system_reader(ks, SERVICE_USER)
        provision.register_image_service(ks, "http://127.0.0.1:9/")  # re-pointed by live tests
        ks.ids["startup_seconds"] = f"{time.monotonic() - started:.1f}"
        yield ks
    finally:
        server.stop(ks)
        shutil.rmtree(root, ignore_errors=True)


def keystone_settings(ks: Keystone, **changes: object) -> KeystoneSettings:
    base = KeystoneSettings(
        auth_url=ks.url,
        username=SERVICE_USER,
        password=server.PASSWORD,
        project_name="service",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, keystone: Keystone) -> Settings:
    """The suite's settings with Keystone validation on."""
    return make_settings(tmp_path / "data", database_url, keystone=keystone_settings(keystone))


# (persona, user, project) of the matrix personas; password logins are slow (bcrypt), so each
# token is minted once per session.
CAST_USERS = {
    "admin": ("admin", "admin"),
    "p1_member": ("alice", "alpha"),
    "p1_reader": ("rita", "alpha"),
    "p2_member": ("bob", "beta"),
    "p2_reader": ("rob", "beta"),
    "member_pending": ("gina", "gamma"),
    "member_accepted": ("dora", "delta"),
    "member_rejected": ("emil", "epsilon"),
}


@pytest.fixture(scope="session")
def ks_tokens(keystone: Keystone) -> dict[str, str]:
    """A project-scoped Keystone token per persona."""
    out = {}
    for persona, (user, project) in CAST_USERS.items():
        password = server.ADMIN_PASSWORD if user == "admin" else server.PASSWORD
        out[persona] = keystone.password_token(user, password, project=project)
    return out


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Keystone tests are about identity: SQLite is enough (the PG variants would double a
    suite whose cost is Keystone's)."""
    return sqlite_url
