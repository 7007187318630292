"""Fixtures for the store tests: a real S3 API (moto in server mode) over HTTP.

moto's in-process patching does not intercept aiobotocore, so the server runs in a
thread on a free port for the whole session and is wiped between tests.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator

import httpx
import pytest

REQUIRE_SERVICES = os.environ.get("GLIMPSE_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Base URL of a moto S3 server shared by the session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_endpoint(moto_endpoint: str) -> Iterator[str]:
    """The moto endpoint, emptied after each test."""
    yield moto_endpoint
    httpx.post(f"{moto_endpoint}/moto-api/reset").raise_for_status()


@pytest.fixture(scope="session")
def qemu_img() -> str:
    """Path of qemu-img; skips (or fails with GLIMPSE_REQUIRE_SERVICES=1) when absent."""
    path = shutil.which("qemu-img")
    if path is None:
        if REQUIRE_SERVICES:
            pytest.fail("qemu-img is required (GLIMPSE_REQUIRE_SERVICES=1) but not installed")
        pytest.skip("qemu-img not installed (apt-get install qemu-utils)")
    return path
