"""Running the node drivers in tests/js (graphql-http audits, Apollo gateway)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import need_service

JS_DIR = Path(__file__).resolve().parent.parent / "js"


def node_or_skip() -> str:
    """The node binary, with tests/js installed (``npm ci`` in tests/js, done by bootstrap)."""
    node = shutil.which("node")
    if node is None:
        need_service("node", "not installed (apt-get install nodejs npm)")
    if not (JS_DIR / "node_modules").is_dir():
        need_service(
            "tests/js/node_modules", "run `npm ci` in tests/js (scripts/bootstrap.sh test)"
        )
    assert node is not None
    return node


def run_node(script: str, *args: str, timeout: float = 120) -> list[Any]:
    """Run ``tests/js/<script>``; its stdout is JSON lines, returned parsed."""
    proc = subprocess.run(
        [node_or_skip(), script, *args],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"{script} failed ({proc.returncode}):\n{proc.stderr}"
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
