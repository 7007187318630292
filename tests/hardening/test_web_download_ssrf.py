"""Finding 3: web-download SSRF filter, DNS rebinding, deadlines and task time limits.

Real HTTP servers on loopback addresses serve the data; 127.0.0.1 is reachable only
because these settings allow private addresses. Refusals use literal addresses or names
answered by a resolver of our own (``deps.extras[RESOLVER]``), so no real DNS is asked.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from glimpse.core.config import Settings
from glimpse.resolvers import web_download
from tests.hardening.conftest import gql_code, gql_data
from tests.tasks.conftest import create_image, headers, md5, wait_task


class _Serve(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the server's ``payload``; remembers the Host headers."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.hosts.append(self.headers.get("Host"))
        if server.trickle:
            self._trickle(server)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(server.payload)))
        self.end_headers()
        self.wfile.write(server.payload)

    def _trickle(self, server: Any) -> None:
        """Announce a MiB, then send one byte per 0.2 s until the client gives up."""
        self.send_response(200)
        self.send_header("Content-Length", str(1 << 20))
        self.end_headers()
        while not server.stopping.wait(0.2):
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:
                return

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Any]:
    """``serve(address, payload, trickle=False)`` -> base URL of a server on that address."""
    servers: list[Any] = []

    def start(address: str, payload: bytes = b"", *, trickle: bool = False) -> str:
        server: Any = http.server.ThreadingHTTPServer((address, 0), _Serve)
        server.payload, server.trickle, server.hosts = payload, trickle, []
        server.stopping = threading.Event()
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://{address}:{server.server_address[1]}"

    start.servers = servers  # type: ignore[attr-defined]
    yield start
    for server in servers:
        server.stopping.set()
        server.shutdown()
        server.server_close()


class Names:
    """A resolver of our own: answers from a table, counts questions per name."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table, self.asked = table, dict.fromkeys(table, 0)

    async def __call__(self, host: str, port: int) -> list[str]:
        if host not in self.table:
            raise OSError(f"{host}: unknown to the test resolver")
        answers = self.table[host]
        n = self.asked[host]
        self.asked[host] = n + 1
        return answers[min(n, len(answers) - 1)]


def strict(settings: Settings, **imports: Any) -> Settings:
    """The production filter (no private addresses), any port (test servers use high ones)."""
    changes = {"allow_private_addresses": False, "allowed_ports": (), **imports}
    return replace(settings, imports=replace(settings.imports, **changes))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return strict(settings, disallowed_hosts=("blocked.example", "xn--bcher-kva.example"))


async def _import(
    http: httpx.AsyncClient, h: dict[str, str], image_id: str, uri: str
) -> httpx.Response:
    body = {"method": {"name": "web-download", "uri": uri}}
    return await http.post(f"/v2/images/{image_id}/import", json=body, headers=h)


REFUSED_LITERALS = [
    "http://127.0.0.1/x",
    "http://[::1]/x",
    "http://0.0.0.0/x",
    "http://10.1.2.3/x",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/metadata",  # shared address space: metadata on some clouds
    "http://[2002:a9fe:a9fe::1]/x",  # 6to4 of 169.254.169.254
    "http://[64:ff9b::a9fe:a9fe]/x",  # NAT64 of 169.254.169.254
    "http://[64:ff9b:1::1]/x",  # local-use NAT64
    "http://[::ffff:127.0.0.1]/x",  # IPv4-mapped
    "http://[::10.0.0.1]/x",  # IPv4-compatible
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x",  # Teredo
    "http://224.0.0.1/x",
    "http://[ff02::1]/x",
    "http://[fd00:ec2::254]/x",
]


@pytest.mark.parametrize("uri", REFUSED_LITERALS)
async def test_non_public_literal_addresses_are_refused(
    http: httpx.AsyncClient, settings: Settings, uri: str
) -> None:
    h = headers(settings)
    img = await create_image(http, h)
    r = await _import(http, h, img["id"], uri)
    assert r.status_code == 400, (uri, r.text)
    assert "non-public address" in r.text


def test_public_addresses_pass_the_address_rule() -> None:
    for address in ("8.8.8.8", "2001:4860:4860::8888", "2002:808:808::1", "64:ff9b::808:808"):
        assert web_download.is_public(address), address


async def test_names_resolving_to_non_public_addresses_are_refused(
    http: httpx.AsyncClient, app: Starlette, settings: Settings
) -> None:
    names = Names(
        {
            "meta.example": [["169.254.169.254"]],
            "cgnat.example": [["100.100.100.200"]],
            "sixtofour.example": [["2002:c0a8:101::1"]],
            "mixed.example": [["8.8.8.8", "10.0.0.1"]],
        }
    )
    app.state.deps.extras[web_download.RESOLVER] = names
    h = headers(settings)
    img = await create_image(http, h)
    for name in names.table:
        r = await _import(http, h, img["id"], f"http://{name}/disk")
        assert r.status_code == 400, (name, r.text)
        assert "non-public address" in r.text
    query = """mutation($id: ID!, $uri: String!) {
      importImage(id: $id, input: {method: WEB_DOWNLOAD, uri: $uri}) { id } }"""
    body = await gql_data(http, h, query, id=img["id"], uri="http://meta.example/x")
    assert gql_code(body) == "INVALID_INPUT"
    assert "non-public address" in body["errors"][0]["message"]


async def test_host_names_are_normalised_before_the_lists(
    http: httpx.AsyncClient, app: Starlette, settings: Settings
) -> None:
    h = headers(settings)
    img = await create_image(http, h)
    for uri in (
        "http://blocked.example./x",
        "http://BLOCKED.Example/x",
        "http://bücher.example/x",
        "http://BÜCHER.example./x",
    ):
        r = await _import(http, h, img["id"], uri)
        assert r.status_code == 400, (uri, r.text)
        assert "denied" in r.text, uri
    app.state.deps.settings = strict(settings, allowed_hosts=("files.example",))
    r = await _import(http, h, img["id"], "http://other.example/x")
    assert r.status_code == 400
    assert "not allowed" in r.text


async def test_the_connection_goes_to_the_checked_address(
    http: httpx.AsyncClient, app: Starlette, settings: Settings, serve: Any
) -> None:
    """DNS rebinding: the name answers a good address when checked and another one later.
    The download must come from the checked address; the name is asked once per check."""
    good, evil = b"good" * 1000, b"evil" * 1000
    good_url = serve("127.0.0.1", good)
    port = int(good_url.rsplit(":", 1)[1])
    evil_server = serve("127.0.0.2", evil)
    assert evil_server
    names = Names({"files.example": [["127.0.0.1"], ["127.0.0.2"]]})
    deps = app.state.deps
    deps.settings = strict(settings, allow_private_addresses=True)
    deps.extras[web_download.RESOLVER] = names
    chunks = web_download.fetch(
        deps.settings.imports, f"http://files.example:{port}/disk", None, names
    )
    assert b"".join([c async for c in chunks]) == good
    assert names.asked["files.example"] == 1
    served = serve.servers[0]
    assert served.hosts == [f"files.example:{port}"]  # the name still travels in Host
    # through the API: the request-time check and the download each ask once; the bytes
    # come from the address the download checked
    names = Names({"files.example": [["127.0.0.2"], ["127.0.0.1"], ["127.0.0.2"]]})
    deps.extras[web_download.RESOLVER] = names
    h = headers(settings)
    img = await create_image(http, h)
    r = await _import(http, h, img["id"], f"http://files.example:{port}/disk")
    assert r.status_code == 202, r.text
    tasks = (await http.get(f"/v2/images/{img['id']}/tasks", headers=h)).json()["tasks"]
    task = await wait_task(http, settings, tasks[0]["id"])
    assert task["status"] == "success", task
    assert names.asked["files.example"] == 2
    shown = (await http.get(f"/v2/images/{img['id']}", headers=h)).json()
    assert shown["checksum"] == md5(good)


async def test_a_trickling_server_cannot_hold_a_runner(
    http: httpx.AsyncClient, app: Starlette, settings: Settings, serve: Any
) -> None:
    base = serve("127.0.0.1", trickle=True)
    deps = app.state.deps
    deps.settings = strict(settings, allow_private_addresses=True, download_deadline_seconds=1.0)
    h = headers(settings)
    img = await create_image(http, h)
    r = await _import(http, h, img["id"], f"{base}/slow?token=s3cr3t")
    assert r.status_code == 202, r.text
    tasks = (await http.get(f"/v2/images/{img['id']}/tasks", headers=h)).json()["tasks"]
    task = await wait_task(http, settings, tasks[0]["id"], seconds=60)
    assert task["status"] == "failure"
    assert "deadline of 1 s" in task["message"]
    assert "s3cr3t" not in task["message"]
    assert (await http.get(f"/v2/images/{img['id']}", headers=h)).json()["status"] == "queued"


async def test_every_task_has_a_time_limit(
    http: httpx.AsyncClient, app: Starlette, settings: Settings, serve: Any
) -> None:
    base = serve("127.0.0.1", trickle=True)
    deps = app.state.deps
    deps.settings = replace(
        strict(settings, allow_private_addresses=True),
        tasks=replace(settings.tasks, time_limit_seconds=1),
    )
    h = headers(settings)
    img = await create_image(http, h)
    query = """mutation($id: ID!, $uri: String!) {
      importImage(id: $id, input: {method: WEB_DOWNLOAD, uri: $uri}) { id } }"""
    body = await gql_data(http, h, query, id=img["id"], uri=f"{base}/slow")
    task_id = body["data"]["importImage"]["id"]
    await wait_task(http, settings, task_id, seconds=60)
    task = await gql_data(
        http,
        h,
        "query($id: ID!) { task(id: $id) { status message image { status } } }",
        id=task_id,
    )
    got = task["data"]["task"]
    assert got["status"] == "FAILURE"
    assert "time limit of 1 s" in got["message"]
    assert got["image"]["status"] == "QUEUED"


async def test_redirect_hops_are_normalised_and_checked(
    http: httpx.AsyncClient, app: Starlette, settings: Settings, file_server: tuple[str, Path]
) -> None:
    """A redirect to a denied host spelled differently is refused at that hop."""
    base, root = file_server
    (root / "disk.raw").write_bytes(b"d" * 100)
    deps = app.state.deps
    deps.settings = strict(
        settings, allow_private_addresses=True, disallowed_hosts=("blocked.example",)
    )
    h = headers(settings)
    img = await create_image(http, h)
    r = await _import(http, h, img["id"], f"{base}/redirect?to=http://Blocked.Example./x")
    assert r.status_code == 202
    tasks = (await http.get(f"/v2/images/{img['id']}/tasks", headers=h)).json()["tasks"]
    task = await wait_task(http, settings, tasks[0]["id"])
    assert task["status"] == "failure"
    assert "host blocked.example denied" in task["message"]
