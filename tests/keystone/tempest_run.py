"""Run tempest's image API tests against Glimpse behind a real Keystone (scripts/tempest.sh).

Everything on loopback: Keystone (tests/keystone/server.py), a small file server for the
web-download and legacy-import tests, and ``glimpse serve`` configured as a production
Glance would be (two filesystem stores, the image cache on, imports allowed from that file
server only), listed in Keystone's catalog as the ``image`` service at its unversioned root,
plus a second node on the same database and stores (``image_remote``) for the cross-worker
tests.
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
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import LiveServer, start_server, stop_server
from tests.keystone import provision, server
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


# Metadata definitions a deployment loads at install time (Glance's ``load_metadefs``): the
# metadefs tests pick a resource type from the catalog, so it must not be empty.
METADEFS = {
    "namespace": "OS::Compute::Hypervisor",
    "display_name": "Hypervisor Selection",
    "description": "Choose the hypervisor an image needs.",
    "visibility": "public",
    "protected": True,
    "resource_type_associations": [
        {"name": "OS::Glance::Image"},
        {"name": "OS::Cinder::Volume", "properties_target": "image"},
        {"name": "OS::Nova::Flavor"},
    ],
    "properties": {
        "hypervisor_type": {
            "title": "Hypervisor Type",
            "description": "Hypervisor the image runs on.",
            "type": "string",
            "enum": ["hyperv", "ironic", "lxc", "qemu", "vmware", "xen"],
        }
    },
}


def load_metadefs(work: Path, data_dir: Path) -> None:
    src = work / "metadefs"
    src.mkdir()
    (src / "compute-hypervisor.json").write_text(json.dumps(METADEFS))
    glimpse = [sys.executable, "-m", "glimpse"]
    subprocess.run([*glimpse, "db", "upgrade", "--data-dir", str(data_dir)], check=True)
    subprocess.run(
        [*glimpse, "metadefs", "load", "--data-dir", str(data_dir), str(src)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def glimpse_env(work: Path, files_url: str, stores: int) -> dict[str, str]:
    """A production-like Glance: ``stores`` filesystem stores (named in the order they are
    configured, which is also their alphabetical order: tempest compares an image's
    ``stores`` with a sorted list), the image cache on, web-download from the file server
    only."""
    port = files_url.rsplit(":", 1)[1]
    names = ["fast", "slow", "spare"][:stores]
    config = [{"name": n, "type": "filesystem", "path": str(work / f"store-{n}")} for n in names]
    return {
        "GLIMPSE_STORES": json.dumps(config),
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
alternate_image_endpoint = image_remote
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
    remote: LiveServer | None = None
    try:
        ks = server.start_keystone(work / "keystone", workers=1)
        provision.create_project(ks, "service")
        provision.create_user(ks, "glimpse", {"service": "service"})
        make_images(work / "www")
        with file_server(work / "www") as files_url:
            env = {**glimpse_env(work, files_url, args.stores), "GLIMPSE_KEYSTONE_AUTH_URL": ks.url}
            data_dir = work / "glimpse" / "data"
            data_dir.mkdir(parents=True)
            load_metadefs(work, data_dir)
            glimpse = start_server(data_dir, env=env, workers=2)
            provision.register_image_service(ks, glimpse.url)
            # A second API node on the same database and stores, with its own image cache:
            # tempest's cross-worker tests (import, delete and caching via another worker).
            remote_env = {
                **env,
                "GLIMPSE_CACHE_NODE": "remote",
                "GLIMPSE_CACHE_DIR": str(work / "cache-remote"),
            }
            remote = start_server(data_dir, env=remote_env)
            provision.register_image_service(ks, remote.url, "image_remote")
            ws = work / "workspace"
            # tempest records workspaces under $HOME: keep that inside the work directory.
            tenv = {**os.environ, "HOME": str(work)}
            subprocess.run(
                [str(venv / "bin" / "tempest"), "init", str(ws)],
                check=True,
                stdout=subprocess.DEVNULL,
                env=tenv,
            )
            (ws / "etc" / "tempest.conf").write_text(tempest_conf(ks, files_url))
            ready = time.monotonic() - started
            print(f"keystone and glimpse ready in {ready:.0f} s; running tempest", flush=True)
            command = [str(venv / "bin" / "tempest"), "run", "--regex", args.regex]
            command += ["--concurrency", str(args.concurrency)]
            code = subprocess.run(command, cwd=ws, env=tenv).returncode
        print(f"tempest run took {time.monotonic() - started:.0f} s in all", flush=True)
        return code
    finally:
        for node in (remote, glimpse):
            if node is not None:
                stop_server(node)
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
    parser.add_argument("--stores", type=int, choices=(1, 2, 3), default=2)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
