"""The persona matrix of tests/policy with Keystone tokens: same expectations, real Keystone
users and projects (alpha owns the image; gamma, delta and epsilon are its members)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from glimpse.resolvers.deps import Deps
from tests.keystone.server import Keystone
from tests.policy.helpers import Persona
from tests.policy.test_matrix import CASES, OPS, check_matrix

PROJECTS = {"P1": "alpha", "P2": "beta", "P3": "gamma", "P4": "delta", "P5": "epsilon"}


def keystone_personas(tokens: dict[str, str], ks: Keystone) -> list[Persona]:
    out = [Persona(name, None, {"X-Auth-Token": tok}) for name, tok in tokens.items()]
    out.append(Persona("no_token", None, {}))
    # Shaped like a fernet token, but Keystone never issued it.
    forged = "gAAAAAB" + uuid.uuid4().hex * 4
    out.append(Persona("bad_token", None, {"X-Auth-Token": forged}))
    return out


@pytest.mark.parametrize(("op_name", "vis"), CASES)
async def test_matrix_with_keystone_tokens(
    op_name: str,
    vis: str,
    http: httpx.AsyncClient,
    deps: Deps,
    keystone: Keystone,
    ks_tokens: dict[str, str],
) -> None:
    cast = {name: keystone.ids[f"project:{p}"] for name, p in PROJECTS.items()}
    cast["P9"] = uuid.uuid4().hex  # a project nobody has a token for
    callers = keystone_personas(ks_tokens, keystone)
    await check_matrix(OPS[op_name], vis, callers, deps, http, cast)
