"""Local accounts: the ``glimpse user`` commands, login through both APIs, throttling, and
never telling whether an account exists."""

from __future__ import annotations

import asyncio
import io
import statistics
import time

import httpx
import pytest

from glimpse.app import build_deps
from glimpse.cli import main as cli_main
from glimpse.core.config import Settings
from glimpse.core.errors import Unauthenticated
from glimpse.policy.tokens import TokenVerifier
from glimpse.resolvers import accounts
from glimpse.resolvers.deps import Deps
from tests.policy.helpers import client_for, gql, with_auth

LOGIN = """mutation($n: String!, $p: String!) {
  login(name: $n, password: $p) { token expiresAt user project roles }
}"""


def _cli(monkeypatch: pytest.MonkeyPatch, settings: Settings, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli_main(["user", *argv[:1], "--data-dir", str(settings.data_dir), *argv[1:]])


def test_user_commands(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GLIMPSE_DATABASE_URL", settings.database_url)
    add = ("add", "alice", "--project", "P1", "--roles", "Member,reader", "--password-stdin")
    assert _cli(monkeypatch, settings, *add, stdin="correct horse\n") == 0
    assert _cli(monkeypatch, settings, *add, stdin="correct horse\n") == 1  # duplicate
    assert "already exists" in capsys.readouterr().err
    short = ("add", "bob", "--password-stdin")
    assert _cli(monkeypatch, settings, *short, stdin="short\n") == 1
    assert _cli(monkeypatch, settings, "list") == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:3] for line in listing] == [["alice", "P1", "member,reader"]]
    passwd = ("passwd", "alice", "--password-stdin")
    assert _cli(monkeypatch, settings, *passwd, stdin="battery staple\n") == 0
    issued = asyncio.run(_login(settings, "alice", "battery staple"))
    assert (issued.user, issued.project, issued.roles) == ("alice", "P1", ("member", "reader"))
    assert _cli(monkeypatch, settings, "remove", "alice") == 0
    assert _cli(monkeypatch, settings, "remove", "alice") == 1
    capsys.readouterr()
    assert _cli(monkeypatch, settings, "list") == 0
    assert capsys.readouterr().out == ""


async def _login(settings: Settings, name: str, password: str) -> accounts.IssuedToken:
    deps = build_deps(settings)
    try:
        return await accounts.login(deps, name, password, client=None)
    finally:
        await deps.db.dispose()
        await deps.stores.close()


async def test_login_through_both_apis(
    http: httpx.AsyncClient, deps: Deps, settings: Settings
) -> None:
    await accounts.add_user(
        deps, "alice", "correct horse", project="P1", roles=["member", "reader"]
    )
    r = await http.post("/v2/tokens", json={"name": "alice", "password": "correct horse"})
    assert r.status_code == 200, r.text
    assert r.json()["expires_at"].endswith("Z")
    principal = await TokenVerifier(settings).authenticate(r.json()["token"])
    assert (principal.user_id, principal.project_id) == ("alice", "P1")
    assert principal.roles == {"member", "reader"}
    images = await http.get("/v2/images", headers={"X-Auth-Token": r.json()["token"]})
    assert images.status_code == 200
    body = await gql(http, {}, LOGIN, n="alice", p="correct horse")
    assert body["data"]["login"]["user"] == "alice"
    assert body["data"]["login"]["roles"] == ["member", "reader"]
    me = {"Authorization": f"Bearer {body['data']['login']['token']}"}
    created = await http.post("/v2/images", json={"name": "mine"}, headers=me)
    assert created.json()["owner"] == "P1"


async def test_failures_do_not_reveal_whether_the_user_exists(
    http: httpx.AsyncClient, deps: Deps
) -> None:
    await accounts.add_user(deps, "alice", "correct horse", project="P1", roles=["reader"])
    answers = set()
    for name in ("alice", "nobody"):
        r = await http.post(
            "/v2/tokens",
            json={"name": name, "password": "wrong password"},
            headers={"Accept": "application/json"},
        )
        body = await gql(http, {}, LOGIN, n=name, p="wrong password")
        err = body["errors"][0]
        answers.add((r.status_code, r.json()["message"], err["extensions"]["code"], err["message"]))
    assert len(answers) == 1
    assert next(iter(answers))[0] == 401


async def test_failed_logins_are_throttled(settings: Settings, deps: Deps) -> None:
    await accounts.add_user(deps, "alice", "correct horse", project="P1", roles=["reader"])
    await accounts.add_user(deps, "bob", "correct horse", project="P1", roles=["reader"])
    tight = with_auth(settings, login_failures_per_user=3, login_failures_per_address=5)
    async with client_for(tight) as http:

        async def login(name: str, password: str) -> httpx.Response:
            return await http.post("/v2/tokens", json={"name": name, "password": password})

        for _ in range(3):
            assert (await login("alice", "wrong password")).status_code == 401
        throttled = await login("alice", "correct horse")  # even the right password waits
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) > 0
        body = await gql(http, {}, LOGIN, n="alice", p="correct horse")
        assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        for _ in range(2):  # unknown names count the same way (and fill the address budget)
            assert (await login("ghost", "wrong password")).status_code == 401
        assert (await login("bob", "correct horse")).status_code == 429  # address limit


async def test_unknown_and_known_names_take_similar_time(settings: Settings) -> None:
    roomy = with_auth(settings, login_failures_per_user=100, login_failures_per_address=100)
    deps = build_deps(roomy)
    try:
        await accounts.add_user(deps, "alice", "correct horse", project="P1", roles=["reader"])

        async def timed(name: str) -> float:
            start = time.perf_counter()
            with pytest.raises(Unauthenticated):
                await accounts.login(deps, name, "wrong password", client="10.0.0.1")
            return time.perf_counter() - start

        await timed("nobody")  # the dummy hash is computed once, on first use
        known = statistics.median([await timed("alice") for _ in range(5)])
        unknown = statistics.median([await timed("nobody") for _ in range(5)])
    finally:
        await deps.db.dispose()
        await deps.stores.close()
    assert 0.33 < unknown / known < 3, (known, unknown)


async def test_login_disabled_without_local_accounts(settings: Settings, deps: Deps) -> None:
    await accounts.add_user(deps, "alice", "correct horse", project="P1", roles=["reader"])
    async with client_for(with_auth(settings, local_accounts=False)) as http:
        r = await http.post("/v2/tokens", json={"name": "alice", "password": "correct horse"})
        assert r.status_code == 403
        body = await gql(http, {}, LOGIN, n="alice", p="correct horse")
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_login_body_is_validated(http: httpx.AsyncClient) -> None:
    assert (await http.post("/v2/tokens", json={"name": "a"})).status_code == 400
    json_type = {"Content-Type": "application/json"}
    assert (await http.post("/v2/tokens", content=b"[1]", headers=json_type)).status_code == 400
    assert (await http.get("/v2/tokens")).status_code == 405


async def test_removing_a_user_or_changing_its_password_revokes_its_tokens(
    http: httpx.AsyncClient, deps: Deps
) -> None:
    """Login tokens are checked against the account on every request, in both APIs."""
    await accounts.add_user(deps, "dave", "first password", project="P1", roles=["member"])

    async def login() -> dict[str, str]:
        await asyncio.sleep(1.05)  # token times have one-second resolution
        r = await http.post("/v2/tokens", json={"name": "dave", "password": pw})
        assert r.status_code == 200, r.text
        return {"X-Auth-Token": r.json()["token"]}

    pw = "first password"
    old = await login()
    assert (await http.get("/v2/images", headers=old)).status_code == 200
    pw = "second password"
    await asyncio.sleep(1.05)  # a change in the token's own second does not revoke it
    await accounts.set_password(deps, "dave", pw)
    r = await http.get("/v2/images", headers=old)
    assert r.status_code == 401
    assert "revoked" in r.text
    out = await gql(http, old, "{ images { edges { cursor } } }")
    assert out["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    new = await login()
    assert (await http.get("/v2/images", headers=new)).status_code == 200
    await accounts.remove_user(deps, "dave")
    assert (await http.get("/v2/images", headers=new)).status_code == 401
