"""Schemathesis fuzzes the live server with the OpenAPI description it serves: every response
must be documented (status, content type, body schema) and no input may cause a 5xx.

Driven through schemathesis' Python API (its pytest plugin does not support our pytest), with
a bounded, derandomized number of examples per operation. ``positive_data_acceptance`` is
left out: Glance answers 400 to some schema-valid inputs that no schema can express (an
unknown marker, a sort_dir count that differs from the sort_key count, ``sort`` together
with ``sort_key``), and we keep those answers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from glimpse.rest_compat.openapi_ops import PATCH_TYPES
from tests.conftest import LiveServer

pytestmark = pytest.mark.fuzz
# Glance's JSON-patch media types carry plain JSON.
for _media in PATCH_TYPES:
    schemathesis.serializer.alias(_media, "application/json")
EXAMPLES = 12
# ignored_auth cannot tell that we always send a valid token (401s: tests/rest/test_protocol.py)
EXCLUDED = [positive_data_acceptance, ignored_auth]


def test_openapi_conformance(live_server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/v2/openapi.json")
    token = live_server.token("FUZZ")
    headers = {"X-Auth-Token": token, "Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = 0
    statuses: Counter[int] = Counter()
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
            case.headers = {**(case.headers or {}), **headers}  # a valid token, not a fuzzed one
            response = case.call_and_validate(excluded_checks=EXCLUDED)
            statuses[response.status_code] += 1

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:1500])
    print("status counts:", sorted(statuses.items()))
    assert operations >= 30
    assert sum(statuses.values()) >= 3 * operations, statuses
    assert statuses[401] < sum(statuses.values()) // 10, statuses
    assert failures == [], "\n\n".join(failures)


def test_stateful_sequences(live_server: LiveServer) -> None:
    """Follow the OpenAPI links: create an image, then show/patch/upload/tag/share/delete it."""
    schema = schemathesis.openapi.from_url(f"{live_server.url}/v2/openapi.json")
    token = live_server.token("FUZZ2")
    headers = {"X-Auth-Token": token, "Authorization": f"Bearer {token}"}
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            case.headers = {**(case.headers or {}), **headers}
            return {}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, excluded_checks=EXCLUDED)

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        ),
    )
