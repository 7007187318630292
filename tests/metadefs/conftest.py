"""Helpers for the metadefs suites: the standard catalog, callers as REST headers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from glimpse.core.config import Settings
from tests.conftest import REPO_ROOT, need_service, token

# The standard catalog is not ours to ship: it is read from the shared folder beside the
# checkout (as CI lays it out), or from GLIMPSE_METADEFS_DIR.
CATALOG = Path(
    os.environ.get("GLIMPSE_METADEFS_DIR", str(REPO_ROOT.parent / "shared" / "data" / "metadefs"))
)


@pytest.fixture(scope="session")
def catalog_dir() -> Path:
    """Glance's 33 standard namespace files (etc/metadefs)."""
    if len(list(CATALOG.glob("*.json"))) != 33:
        need_service("metadefs catalog", f"{CATALOG} does not hold the 33 standard files")
    return CATALOG


def catalog_docs(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def normalized(doc: dict[str, Any]) -> dict[str, Any]:
    """A document with Glance's defaults made explicit: absent visibility is private,
    absent protected is false, and absent collections equal empty ones."""
    out = {k: v for k, v in doc.items() if v not in ([], {})}
    out.setdefault("visibility", "private")
    out.setdefault("protected", False)
    return out


class Callers:
    """Header sets for the usual personas."""

    def __init__(self, settings: Settings) -> None:
        self.admin = self._h(settings, "admin", "admin", "member", "reader")
        self.p1_member = self._h(settings, "P1", "member", "reader")
        self.p1_reader = self._h(settings, "P1", "reader")
        self.p2_member = self._h(settings, "P2", "member", "reader")

    @staticmethod
    def _h(settings: Settings, project: str, *roles: str) -> dict[str, str]:
        return {"X-Auth-Token": token(settings, project, *roles), "Accept": "application/json"}


@pytest.fixture
def callers(settings: Settings) -> Callers:
    return Callers(settings)
