"""Settings sources and the command line, as a user runs them."""

from __future__ import annotations

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


def test_store_sweep_command(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir(parents=True)
    (images / "left-behind").write_bytes(b"x" * 7)
    out = run_cli("store", "sweep", "--data-dir", str(tmp_path), "--grace", "0").stdout
    assert out.strip() == "local: removed 1 orphan blobs (7 bytes) and 0 unfinished writes"
    assert not (images / "left-behind").exists()
