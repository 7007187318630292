"""Settings sources and the command line, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import jwt
import pytest

from glimpse.core.config import load_settings
from glimpse.core.errors import InvalidInput
from glimpse.policy.tokens import TokenVerifier
from tests.conftest import REPO_ROOT, start_server, stop_server


def test_settings_sources_and_precedence(tmp_path: Path) -> None:
    (tmp_path / "glimpse.toml").write_text(
        'port = 9000\nmax_image_size = 1024\n[auth]\npolicy_profile = "admin-only"\n'
        '[stores.fast]\ntype = "filesystem"\npath = "/srv/fast"\n'
    )
    env = {
        "GLIMPSE_DATA_DIR": str(tmp_path),
        "GLIMPSE_PORT": "9100",
        "GLIMPSE_AUTH_TRUSTED_PROXY": "true",
    }
    s = load_settings(env=env)
    assert s.port == 9100  # environment beats the file
    assert s.max_image_size == 1024
    assert s.auth.policy_profile == "admin-only"
    assert s.auth.trusted_proxy is True
    assert [(st.name, st.type, st.options["path"]) for st in s.stores] == [
        ("fast", "filesystem", "/srv/fast")
    ]
    assert s.effective_database_url.startswith("sqlite+aiosqlite:///")
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]


def test_unknown_settings_are_refused(tmp_path: Path) -> None:
    (tmp_path / "glimpse.toml").write_text("prot = 1\n")
    with pytest.raises(InvalidInput, match="prot"):
        load_settings(env={"GLIMPSE_DATA_DIR": str(tmp_path)})


def test_empty_audience_is_refused(tmp_path: Path) -> None:
    """Finding 11: ``auth.audience = ""`` silently switched audience checks off."""
    (tmp_path / "glimpse.toml").write_text('[auth]\naudience = ""\n')
    with pytest.raises(InvalidInput, match="audience must not be empty"):
        load_settings(env={"GLIMPSE_DATA_DIR": str(tmp_path)})
    with pytest.raises(InvalidInput, match="audience must not be empty"):
        load_settings(env={"GLIMPSE_AUTH_AUDIENCE": " "}, overrides={"data_dir": str(tmp_path)})


def test_hashing_algorithm_setting(tmp_path: Path) -> None:
    env = {"GLIMPSE_DATA_DIR": str(tmp_path)}
    assert load_settings(env=env).hashing_algorithm == "sha512"  # Glance's default
    for name in ("sha256", "sha384", "sha3_512", "blake2b"):
        assert (
            load_settings(env={**env, "GLIMPSE_HASHING_ALGORITHM": name}).hashing_algorithm == name
        )
    # Not secure (md5, sha1), no fixed length (shake), or unknown: refused at start-up.
    for name in ("md5", "sha1", "shake_256", "sha-256", ""):
        with pytest.raises(InvalidInput, match="hashing_algorithm"):
            load_settings(env={**env, "GLIMPSE_HASHING_ALGORITHM": name})


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glimpse", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )


def test_token_command_prints_only_a_token_the_server_accepts(tmp_path: Path) -> None:
    out = run_cli(
        "token",
        "--data-dir",
        str(tmp_path),
        "--user",
        "alice",
        "--project",
        "P1",
        "--roles",
        "member,reader",
        "--ttl",
        "60",
    ).stdout
    assert out.count("\n") == 1
    tok = out.strip()
    principal = TokenVerifier(load_settings(env={}, overrides={"data_dir": str(tmp_path)})).verify(
        tok
    )
    assert (principal.user_id, principal.project_id) == ("alice", "P1")
    assert principal.roles == frozenset({"member", "reader"})
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600
    claims = jwt.decode(tok, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60
    no_project = run_cli(
        "token", "--data-dir", str(tmp_path), "--user", "bob", "--project", "", "--roles", "reader"
    ).stdout.strip()
    assert (
        TokenVerifier(load_settings(env={}, overrides={"data_dir": str(tmp_path)}))
        .verify(no_project)
        .project_id
        is None
    )


def test_schema_and_db_upgrade_commands(tmp_path: Path) -> None:
    sdl = run_cli("schema").stdout
    assert '@link(url: "https://specs.apollo.dev/federation/v2' in sdl
    assert 'type Image @key(fields: "id")' in sdl
    out = run_cli("db", "upgrade", "--data-dir", str(tmp_path)).stdout
    assert "head" in out
    assert (tmp_path / "glimpse.db").exists()
    run_cli("db", "upgrade", "--data-dir", str(tmp_path))  # idempotent


def test_serve_answers_healthz_and_serves_both_apis(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
        headers = {"X-Auth-Token": server.token("P1")}
        r = httpx.post(f"{server.url}/v2/images", json={"name": "x"}, headers=headers)
        assert r.status_code == 201
        assert r.headers["location"] == f"{server.url}/v2/images/{r.json()['id']}"
        q = httpx.post(
            f"{server.url}/graphql",
            headers=headers,
            json={"query": "{ images { edges { node { name } } } }"},
        ).json()
        assert q["data"]["images"]["edges"] == [{"node": {"name": "x"}}]
        assert (
            httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"}).status_code == 200
        )
    finally:
        stop_server(server)


def test_serve_writes_the_admin_token_once_and_never_prints_it(tmp_path: Path) -> None:
    """Finding 11: every start printed a fresh 24-hour admin token (terminals, logs)."""
    data = tmp_path / "data"
    first = start_server(data)
    stop_server(first)
    token_file = data / "admin-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    token = token_file.read_text().strip()
    principal = TokenVerifier(load_settings(env={}, overrides={"data_dir": str(data)})).verify(
        token
    )
    assert principal.is_admin
    second = start_server(data)
    try:
        r = httpx.get(f"{second.url}/v2/images", headers={"X-Auth-Token": token})
        assert r.status_code == 200
    finally:
        stop_server(second)
    assert token_file.read_text().strip() == token  # not minted again
    for server in (first, second):
        log = (tmp_path / f"server-{server.url.rsplit(':', 1)[1]}.log").read_text()
        assert str(token_file.resolve()) in log
        assert token not in log
        assert "eyJ" not in log  # no JWT of any kind


def test_expired_admin_token_is_replaced(tmp_path: Path) -> None:
    from glimpse.cli import admin_token_file
    from glimpse.policy.tokens import mint_token

    settings = load_settings(env={}, overrides={"data_dir": str(tmp_path)})
    old = mint_token(settings, user="admin", project="admin", roles=["admin"], ttl=60)
    (tmp_path / "admin-token").write_text(old)
    (tmp_path / "admin-token").chmod(0o644)
    path = admin_token_file(settings)  # expiring within the hour: replaced
    assert path.read_text().strip() != old
    assert path.stat().st_mode & 0o777 == 0o600
    assert admin_token_file(settings).read_text() == path.read_text()  # valid: kept


def test_store_sweep_command(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir(parents=True)
    (images / "left-behind").write_bytes(b"x" * 7)
    out = run_cli("store", "sweep", "--data-dir", str(tmp_path), "--grace", "0").stdout
    assert out.strip() == "local: removed 1 orphan blobs (7 bytes) and 0 unfinished writes"
    assert not (images / "left-behind").exists()


def test_serve_picks_one_worker_per_usable_cpu_unless_told(tmp_path: Path) -> None:
    cpus = len(os.sched_getaffinity(0))
    assert load_settings(env={}, overrides={"data_dir": str(tmp_path)}).serve_workers == cpus
    told = load_settings(env={"GLIMPSE_WORKERS": "3"}, overrides={"data_dir": str(tmp_path)})
    assert told.serve_workers == 3


def test_serve_says_how_many_workers_it_runs(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", workers=2)
    try:
        stop_server(server)
        log = (tmp_path / f"server-{server.url.rsplit(':', 1)[1]}.log").read_text()
        assert "workers:  2 (as configured)" in log
    finally:
        stop_server(server)
