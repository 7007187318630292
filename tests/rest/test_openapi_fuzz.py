"""Schemathesis fuzzes the live server with the OpenAPI description it serves: every response
must be documented (status, content type, body schema) and no input may cause a 5xx.

Driven through schemathesis' Python API (its pytest plugin does not support our pytest), with
a bounded, derandomized number of examples per operation. ``positive_data_acceptance`` is
left out: Glance answers 400 to some schema-valid inputs that no schema can express (an
unknown marker, a sort_dir count that differs from the sort_key count, ``sort`` together
with ``sort_key``), and we keep those answers.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from glimpse.rest_compat.openapi_ops import PATCH_TYPES
from tests.conftest import LiveServer

pytestmark = pytest.mark.fuzz
# Glance's JSON-patch media types carry plain JSON.
for _media in PATCH_TYPES:
    schemathesis.serializer.alias(_media, "application/json")
EXAMPLES = 12


def test_openapi_conformance(live_server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/v2/openapi.json")
    headers = {"X-Auth-Token": live_server.token("FUZZ")}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:1500])
    assert operations >= 30
    assert failures == [], "\n\n".join(failures)
