"""Run tempest's image API tests against Glimpse behind a real Keystone (scripts/tempest.sh).

Everything on loopback: Keystone (tests/keystone/server.py), a small file server for the
web-download and legacy-import tests, and ``glimpse serve`` configured as a production
Glance would be (two filesystem stores, the image cache on, imports allowed from that file
server only), listed in Keystone's catalog as the ``image`` service at its unversioned root.
tempest (from PyPI, in a cached virtualenv of its own) finds Glimpse only through that
catalog and creates a project and users per test class.

    python -m tests.keystone.tempest_run [--regex R] [--concurrency N] [--keep]

Prints tempest's own output, ending with its totals; exits with tempest's status.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import LiveServer, start_server, stop_server
from tests.keystone import server
from tests.keystone.server import Keystone

TEMPEST_VERSION = "47.0.0"
DEFAULT_REGEX = r"^tempest\.api\.image\.v2"


def tempest_venv() -> Path:
    return server.cached_venv(f"tempest-{TEMPEST_VERSION}", [f"tempest=={TEMPEST_VERSION}"])


@contextlib.contextmanager
def file_server(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP on loopback; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def make_images(www: Path) -> None:
    """A small qcow2 (legacy import tasks ask for qcow2) served as the tempest http image."""
    www.mkdir(parents=True, exist_ok=True)
    qemu = shutil.which("qemu-img")
    if qemu is None:
        raise SystemExit("qemu-img is needed (apt-get install qemu-utils)")
    subprocess.run(
        [qemu, "create", "-q", "-f", "qcow2", str(www / "disk.qcow2"), "16M"], check=True
    )


def glimpse_env(work: Path, files_url: str) -> dict[str, str]:
    port = files_url.rsplit(":", 1)[1]
    stores = [
        {"name": "fast", "type": "filesystem", "path": str(work / "store-fast"), "weight": 10},
        {"name": "cheap", "type": "filesystem", "path": str(work / "store-cheap")},
    ]
    return {
        "GLIMPSE_STORES": json.dumps(stores),
        "GLIMPSE_DEFAULT_STORE": "fast",
        "GLIMPSE_CACHE_ENABLED": "true",
        "GLIMPSE_IMPORTS_METHODS": "glance-direct,web-download,copy-image",
        "GLIMPSE_IMPORTS_ALLOW_PRIVATE_ADDRESSES": "true",
        "GLIMPSE_IMPORTS_ALLOWED_HOSTS": "127.0.0.1",
        "GLIMPSE_IMPORTS_ALLOWED_PORTS": port,
        "GLIMPSE_KEYSTONE_USERNAME": "glimpse",
        "GLIMPSE_KEYSTONE_PASSWORD": server.PASSWORD,
        "GLIMPSE_KEYSTONE_PROJECT_NAME": "service",
    }


def tempest_conf(ks: Keystone, files_url: str) -> str:
    image = f"{files_url}/disk.qcow2"
    return f"""[DEFAULT]
log_file = tempest.log

[auth]
use_dynamic_credentials = true
create_isolated_networks = false
admin_username = admin
admin_password = {server.ADMIN_PASSWORD}
admin_project_name = admin
admin_domain_name = Default
default_credentials_domain_name = Default

[identity]
uri_v3 = {ks.url}
auth_version = v3
region = {server.REGION}
disable_ssl_certificate_validation = true

[identity-feature-enabled]
api_v2 = false

[service_available]
glance = true
nova = false
neutron = false
cinder = false
swift = false

[image]
http_image = {image}
http_qcow2_image = {image}
image_caching_enabled = true
build_timeout = 120

[image-feature-enabled]
import_image = true
os_glance_reserved = true

[validation]
run_validation = false
"""


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    venv = tempest_venv()
    work = Path(tempfile.mkdtemp(prefix="glimpse-tempest-"))
    ks: Keystone | None = None
    glimpse: LiveServer | None = None
    try:
        ks = server.start_keystone(work / "keystone")
        server.create_project(ks, "service")
        server.create_user(ks, "glimpse", {"service": "service"})
        make_images(work / "www")
        with file_server(work / "www") as files_url:
            env = {**glimpse_env(work, files_url), "GLIMPSE_KEYSTONE_AUTH_URL": ks.url}
            (work / "glimpse").mkdir()
            glimpse = start_server(work / "glimpse" / "data", env=env, workers=2)
            server.register_image_service(ks, glimpse.url)
            ws = work / "workspace"
            subprocess.run(
                [str(venv / "bin" / "tempest"), "init", str(ws)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            (ws / "etc" / "tempest.conf").write_text(tempest_conf(ks, files_url))
            ready = time.monotonic() - started
            print(f"keystone and glimpse ready in {ready:.0f} s; running tempest", flush=True)
            command = [str(venv / "bin" / "tempest"), "run", "--regex", args.regex]
            command += ["--concurrency", str(args.concurrency)]
            code = subprocess.run(command, cwd=ws).returncode
        print(f"tempest run took {time.monotonic() - started:.0f} s in all", flush=True)
        return code
    finally:
        if glimpse is not None:
            stop_server(glimpse)
        if ks is not None:
            server.stop(ks)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regex", default=DEFAULT_REGEX)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
