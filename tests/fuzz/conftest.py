"""Fuzzing and property-based suites: bounded for CI, longer by hand.

Every suite here runs a fixed, derandomized number of examples by default, so CI time is
bounded and a failure reproduces. ``GLIMPSE_FUZZ_EXAMPLES=N`` multiplies each suite's
example count by ``N`` and switches to random generation (a new search each run), for a
longer run by hand::

    GLIMPSE_FUZZ_EXAMPLES=20 .venv/bin/python -m pytest tests/fuzz -m fuzz -q
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings

SCALE = int(os.environ.get("GLIMPSE_FUZZ_EXAMPLES", "1") or "1")


def fuzz_settings(examples: int, **extra: Any) -> settings:
    """Hypothesis settings for ``examples`` examples in CI (times :data:`SCALE` by hand)."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=SCALE == 1,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
        **extra,
    )
