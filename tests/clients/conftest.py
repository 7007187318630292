"""Helpers for the acceptance tests: real OpenStack clients against a live ``glimpse serve``.

Each test works in its own projects (fresh names), so tests share the session's server
without seeing each other's images.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer

# The client CLIs are installed beside the interpreter running the tests (``make test``
# installs them into .venv); ``VIRTUAL_ENV`` is not set by the README's command.
BIN = Path(sys.executable).parent


def project() -> str:
    return f"proj-{uuid.uuid4().hex[:8]}"


def payload(n: int = 300_000) -> bytes:
    """Deterministic, not all zeros, not a recognisable disk format (raw)."""
    return hashlib.sha512(b"seed").digest() * (n // 64) + b"tail"


def seed(server: LiveServer, owner: str, count: int, **body: Any) -> list[str]:
    """Create ``count`` images for ``owner`` straight over HTTP (fast fixtures for paging)."""
    headers = {"X-Auth-Token": server.token(owner)}
    ids = []
    with httpx.Client(base_url=server.url, headers=headers) as c:
        for i in range(count):
            r = c.post("/v2/images", json={"name": f"seed-{i:03d}", **body})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return ids


def run_cli(args: list[str], home: Path, *, stdin: bytes | None = None) -> str:
    """Run a client CLI with a throwaway HOME (glanceclient caches schemas there)."""
    env = {
        "HOME": str(home),
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "LANG": "C.UTF-8",
    }
    proc = subprocess.run(
        args, env=env, capture_output=True, input=stdin if stdin is not None else b"", timeout=120
    )
    out = proc.stdout.decode()
    assert proc.returncode == 0, f"{args}\nstdout: {out}\nstderr: {proc.stderr.decode()}"
    return out


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h
