"""Schemathesis over ``/v2/openapi.json``, extended to hostile values, against a live server.

Each operation's schema-valid cases (schemathesis) get one part replaced by something no
schema describes: a NUL or a lone surrogate in any JSON string or key, integers past 64
bits, JSON nested hundreds deep, ``..`` or ``%2F``-bearing path parameters, NUL in query
parameters. Whatever the operation, the answer is never a 5xx; where the hostile value
lands in something the service must decode (a JSON body, a path, a query string), it is a
4xx: garbage is refused, not stored. (Schema conformance of ordinary cases is
tests/rest/test_openapi_fuzz.py.)
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis.core import NOT_SET

from glimpse.rest_compat.openapi_ops import PATCH_TYPES
from tests.conftest import LiveServer
from tests.fuzz.conftest import fuzz_settings

pytestmark = pytest.mark.fuzz
for _media in PATCH_TYPES:
    schemathesis.serializer.alias(_media, "application/json")

EXAMPLES = 5
MUST_REFUSE_TEXT = ["\x00", "a\x00b", "\ud800", "x\udfffy"]
MUST_REFUSE_NUMBERS = [2**63, -(2**63) - 1, 2**64, 10**30]
ODD_TEXT = ["..", ".", "a/b", "\u202egnp.exe", "\U0001d54f" * 40, " ", "%00", "' OR 1=1 --"]


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


BODY_REFUSED = st.one_of(
    st.sampled_from(MUST_REFUSE_TEXT),
    st.sampled_from(MUST_REFUSE_NUMBERS),
    st.integers(100, 400).map(_deep),
)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every value inside a JSON document (containers included)."""
    found = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _leaves(v, (*path, i))
    return found


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[head] = _replace(doc[head], rest, value)
    return copy


def _hostile_key(doc: Any, key: str) -> Any:
    """A NUL or a lone surrogate in a key instead of a value."""
    if isinstance(doc, dict):
        return {**doc, key: "v"}
    return doc


class Outcome:
    """What the run saw: statuses per kind of mutation, and every broken promise."""

    def __init__(self) -> None:
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.failures: list[str] = []

    def expect(self, what: str, response: httpx.Response, *, refused: bool, where: str) -> None:
        self.statuses[(what, response.status_code // 100)] += 1
        bad = response.status_code >= 500 or (refused and not 400 <= response.status_code < 500)
        if bad:
            self.failures.append(
                f"{where}: {what} -> {response.status_code} {response.text[:200]!r}"
            )


def _send(
    client: httpx.Client,
    case: Any,
    *,
    path_params: dict[str, Any],
    query: dict[str, Any],
    body: Any,
) -> httpx.Response:
    path = case.path
    for name, value in path_params.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    headers = {}
    content = None
    if body is not NOT_SET:
        media = case.media_type or "application/json"
        headers["Content-Type"] = media
        content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=True).encode()
    return client.request(case.method, path, params=query or None, content=content, headers=headers)


def _case_parts(case: Any) -> tuple[dict[str, Any], dict[str, Any], Any]:
    return dict(case.path_parameters or {}), dict(case.query or {}), case.body


def _fuzz_operation(client: httpx.Client, operation: Any, outcome: Outcome) -> None:
    where = f"{operation.method.upper()} {operation.path}"
    decodes_query = operation.path.startswith("/v2/")  # "/" and /versions ignore queries

    @given(case=operation.as_strategy(), data=st.data())
    @fuzz_settings(EXAMPLES)
    def run(case: Any, data: st.DataObject) -> None:
        path_params, query, body = _case_parts(case)
        json_body = body is not NOT_SET and not isinstance(body, bytes | str)
        targets = ["query-nul"]
        if json_body:
            targets += ["body"] * 4 + ["body-key"]
        if path_params:
            targets += ["path-nul", "path-odd"]
        target = data.draw(st.sampled_from(targets))
        if target == "body":
            spot = data.draw(st.sampled_from(_leaves(body)))
            body = _replace(body, spot, data.draw(BODY_REFUSED))
            refused = True
        elif target == "body-key":
            key = data.draw(st.sampled_from(["k\x00", "\ud800", "name\udc00"]))
            body = _hostile_key(body, key)
            refused = isinstance(body, dict)
        elif target == "path-nul":
            name = data.draw(st.sampled_from(sorted(path_params)))
            path_params[name] = data.draw(st.sampled_from(["\x00", "a\x00", "x/y"]))
            refused = True
        elif target == "path-odd":
            name = data.draw(st.sampled_from(sorted(path_params)))
            path_params[name] = data.draw(st.sampled_from(ODD_TEXT))
            refused = False
        else:
            query = {**query, data.draw(st.sampled_from(["name", "tag", "q"])): "a\x00b"}
            refused = decodes_query
        response = _send(client, case, path_params=path_params, query=query, body=body)
        outcome.expect(target, response, refused=refused, where=where)

    run()


def test_hostile_values_are_refused_never_5xx(live_server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/v2/openapi.json")
    token = live_server.token("HOSTILE")
    outcome = Outcome()
    operations = 0
    headers = {"X-Auth-Token": token, "Accept": "application/json"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as client:
        for result in schema.get_all_operations():
            operations += 1
            _fuzz_operation(client, result.ok(), outcome)
    print("status classes:", sorted(outcome.statuses.items()))
    assert operations >= 30
    assert outcome.statuses[("body", 4)] >= 20  # JSON bodies were reached, and refused
    assert outcome.failures == [], "\n".join(outcome.failures[:40])
