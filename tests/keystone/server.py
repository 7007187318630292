"""A real Keystone on loopback for the tests and scripts/tempest.sh.

Keystone (``keystone==KEYSTONE_VERSION`` from PyPI) lives in a virtualenv of its own, built
on first use under ``~/.cache/glimpse-keystone`` (or ``$GLIMPSE_KEYSTONE_CACHE``) and reused
by every later run, together with a bootstrapped database that each start copies: the build
takes one to two minutes, a start a few seconds. It is served by
gunicorn (a WSGI server in a wheel: nothing to compile), keeps its data in SQLite with fernet
tokens, and caches in a memcached of its own (Debian's ``memcached``): without that cache a
token validation recomputes role assignments and takes more than a second.

:func:`start_keystone` starts it with an admin; tests/keystone/provision.py then creates what
the tests need through Keystone's own REST API (projects, users, role assignments, the
``image`` service). Everything binds to 127.0.0.1 and is stopped by process id.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

KEYSTONE_VERSION = "30.0.0"
# Installed beside keystone: the WSGI server and the memcached client of oslo.cache's pool.
KEYSTONE_EXTRAS = ("gunicorn>=22", "python-memcached>=1.59")
ADMIN_PASSWORD = "admin-secret"  # loopback-only throwaway identity service
PASSWORD = "secret-password"
REGION = "RegionOne"


def cache_root() -> Path:
    env = os.environ.get("GLIMPSE_KEYSTONE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "glimpse-keystone"


def keystone_venv() -> Path:
    """The virtualenv with keystone, built once per keystone and Python version."""
    return cached_venv(
        f"keystone-{KEYSTONE_VERSION}", [f"keystone=={KEYSTONE_VERSION}", *KEYSTONE_EXTRAS]
    )


def cached_venv(name: str, requirements: list[str]) -> Path:
    """A virtualenv ``name`` (plus the Python version) under :func:`cache_root` with
    ``requirements`` installed from PyPI, built on first use.

    A marker file written last says the build finished; under a file lock a run that finds
    a venv without it (an interrupted build) starts over, and two concurrent runs build
    once."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / f"{name}-py{sys.version_info.major}{sys.version_info.minor}"
    done = venv / ".complete"
    if done.exists():
        return venv
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([_base_python(), "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, *requirements], check=True)
        done.write_text("\n".join(requirements) + "\n")
    return venv


def _base_python() -> str:
    """The interpreter our own venv was made from (a venv inside a venv would inherit it)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Keystone:
    """A running Keystone: its URL (``.../v3``), an admin token and the processes."""

    url: str
    root: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    admin_token: str = ""
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.url.removesuffix("/v3")

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"X-Auth-Token": self.admin_token}, timeout=30
        )

    def password_token(
        self, user: str, password: str = PASSWORD, *, project: str | None = None, **scope: Any
    ) -> str:
        """A token for ``user`` scoped to ``project`` (a name), a domain or the system."""
        body = password_auth(user, password, project=project, **scope)
        r = httpx.post(f"{self.url}/auth/tokens", json=body, timeout=30)
        assert r.status_code == 201, r.text
        return r.headers["X-Subject-Token"]

    def log(self) -> str:
        path = self.root / "keystone.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def password_auth(
    user: str,
    password: str,
    *,
    project: str | None = None,
    domain: str | None = None,
    system: bool = False,
) -> dict[str, Any]:
    """The body of ``POST /v3/auth/tokens`` for a password login in the Default domain."""
    auth: dict[str, Any] = {
        "identity": {
            "methods": ["password"],
            "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}},
        }
    }
    if project is not None:
        auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
    elif domain is not None:
        auth["scope"] = {"domain": {"id": domain}}
    elif system:
        auth["scope"] = {"system": {"all": True}}
    return {"auth": auth}


def _conf(root: Path, memcached_port: int) -> str:
    return f"""[DEFAULT]
debug = false
use_stderr = true

[database]
connection = sqlite:///{root}/keystone.sqlite

[identity]
# bcrypt's minimum: users and password logins cost milliseconds instead of ~350 ms each
password_hash_rounds = 4

[token]
provider = fernet
expiration = 7200

[fernet_tokens]
key_repository = {root}/fernet-keys

[fernet_receipts]
key_repository = {root}/fernet-keys

[credential]
key_repository = {root}/credential-keys

[cache]
enabled = true
backend = oslo_cache.memcache_pool
memcache_servers = 127.0.0.1:{memcached_port}
"""


# keystone's WSGI module parses sys.argv with oslo.config at import time: hide the WSGI
# server's own arguments from it.
WSGI_ENTRY = """import sys

sys.argv = sys.argv[:1]
from keystone.wsgi.api import application  # noqa: E402,F401
"""


def _manage(venv: Path, env: dict[str, str], *args: str) -> None:
    owner: list[str] = []
    if os.geteuid() == 0 and args[0] in ("fernet_setup", "credential_setup"):
        owner = ["--keystone-user", "root", "--keystone-group", "root"]
    manage = str(venv / "bin" / "keystone-manage")
    subprocess.run(
        [manage, "--config-dir", env["OS_KEYSTONE_CONFIG_DIR"], *args, *owner],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - kept open for the child's lifetime
    return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def _memcached(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("memcached") or "/usr/bin/memcached"
    if not Path(binary).exists():
        raise RuntimeError("memcached is not installed (apt-get install memcached)")
    port = free_port()
    args = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64"]
    if os.geteuid() == 0:
        args += ["-u", "root"]
    return _spawn(args, dict(os.environ), root / "memcached.log"), port


def start_keystone(root: Path, *, workers: int = 1) -> Keystone:
    """Start Keystone (and its memcached) under ``root`` from a bootstrapped copy.

    One worker by default: Keystone's SQLite database answers "database is locked" when
    two worker processes write at once (tempest creates and deletes projects in parallel)."""
    venv = keystone_venv()
    template = bootstrapped(venv)
    root.mkdir(parents=True, exist_ok=True)
    for item in ("keystone.sqlite", "fernet-keys", "credential-keys"):
        copy = shutil.copytree if (template / item).is_dir() else shutil.copy2
        copy(template / item, root / item)
    (root / "conf").mkdir(mode=0o700, exist_ok=True)
    ks = Keystone(url="", root=root)
    try:
        mc, mc_port = _memcached(root)
        ks.processes.append(mc)
        (root / "conf" / "keystone.conf").write_text(_conf(root, mc_port))
        env = {**os.environ, "OS_KEYSTONE_CONFIG_DIR": str(root / "conf")}
        env.pop("VIRTUAL_ENV", None)
        port = free_port()
        ks.url = f"http://127.0.0.1:{port}/v3"
        gunicorn = [
            str(venv / "bin" / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "120",
            "--chdir",
            str(root),
            "keystone_wsgi:application",
        ]
        (root / "keystone_wsgi.py").write_text(WSGI_ENTRY)
        ks.processes.append(_spawn(gunicorn, env, root / "keystone.log"))
        _wait_ready(ks)
        ks.admin_token = ks.password_token("admin", ADMIN_PASSWORD, project="admin")
        _point_identity_endpoints(ks)
    except BaseException:
        stop(ks)
        raise
    return ks


def bootstrapped(venv: Path) -> Path:
    """A Keystone database and key repositories after ``db_sync``, the key setups and
    ``bootstrap`` (admin, roles, RegionOne, the identity service), made once beside the
    venv: each ``keystone-manage`` call costs seconds of imports, a copy costs nothing. The
    identity endpoints are re-pointed to each instance's port after it starts."""
    template = venv / "bootstrapped-2"  # bump when the bootstrap or its config changes
    if (template / ".complete").exists():
        return template
    with open(venv.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (template / ".complete").exists():
            return template
        shutil.rmtree(template, ignore_errors=True)
        for sub in ("fernet-keys", "credential-keys", "conf"):
            (template / sub).mkdir(mode=0o700, parents=True)
        (template / "conf" / "keystone.conf").write_text(_conf(template, 0))
        env = {**os.environ, "OS_KEYSTONE_CONFIG_DIR": str(template / "conf")}
        env.pop("VIRTUAL_ENV", None)
        _manage(venv, env, "db_sync")
        _manage(venv, env, "fernet_setup")
        _manage(venv, env, "credential_setup")
        placeholder = "http://127.0.0.1:9/v3"  # re-pointed when an instance starts
        _manage(
            venv,
            env,
            "bootstrap",
            "--bootstrap-password",
            ADMIN_PASSWORD,
            "--bootstrap-region-id",
            REGION,
            *(f"--bootstrap-{i}-url={placeholder}" for i in ("admin", "internal", "public")),
        )
        (template / ".complete").write_text(f"keystone=={KEYSTONE_VERSION}\n")
    return template


def _point_identity_endpoints(ks: Keystone) -> None:
    """The catalog's identity endpoints at this instance (clients and tempest use them)."""
    with ks.client() as c:
        services = c.get("/services", params={"type": "identity"}).json()["services"]
        for service in services:
            found = c.get("/endpoints", params={"service_id": service["id"]}).json()
            for endpoint in found["endpoints"]:
                r = c.patch(f"/endpoints/{endpoint['id']}", json={"endpoint": {"url": ks.url}})
                r.raise_for_status()


def _wait_ready(ks: Keystone, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in ks.processes:
            if proc.poll() is not None:
                raise RuntimeError(f"keystone exited early:\n{ks.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(ks.url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"keystone did not answer in {timeout:.0f} s:\n{ks.log()}")


def stop(ks: Keystone) -> None:
    """Stop every process we started, by pid: TERM, then KILL after a grace period."""
    for proc in reversed(ks.processes):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in ks.processes:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running_keystone(root: Path) -> Iterator[Keystone]:
    ks = start_keystone(root)
    try:
        yield ks
    finally:
        stop(ks)
