"""Finding 11: CSP with frame-ancestors, nosniff and a referrer policy on /ui and GraphiQL,
and GraphiQL still working under its policy in headless Chromium.

GraphiQL's page loads pinned assets from unpkg.com with subresource integrity. Tests have
no Internet: the browser's requests to unpkg.com are answered from the same npm packages
(tests/js/package.json pins the versions the page names), so the integrity checks and the
policy are exercised exactly as in production.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveServer

NODE_MODULES = Path(__file__).resolve().parents[1] / "js" / "node_modules"
CDN_PATH = re.compile(r"^https://unpkg\.com/((?:@[^/]+/)?[^@/]+)@[^/]+/(.+)$")
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
"""


def _directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        out[name] = sources
    return out


def test_headers_on_console_graphiql_and_api(server: LiveServer) -> None:
    ui = httpx.get(f"{server.url}/ui/")
    graphiql = httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"})
    docs = httpx.get(f"{server.url}/v2/docs")
    api = httpx.get(f"{server.url}/v2/images", headers={"X-Auth-Token": server.token()})
    for r in (ui, graphiql, docs, api):
        assert r.status_code == 200
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    for r in (ui, graphiql, docs):
        csp = _directives(r.headers["content-security-policy"])
        assert csp["frame-ancestors"] == ["'none'"]
        assert csp["object-src"] == ["'none'"]
        assert "'unsafe-inline'" not in csp["script-src"]
        assert "'unsafe-eval'" not in csp["script-src"]
        assert r.headers["x-frame-options"] == "DENY"
    assert _directives(ui.headers["content-security-policy"])["script-src"] == ["'self'"]
    scripts = _directives(graphiql.headers["content-security-policy"])["script-src"]
    assert "https://unpkg.com" in scripts
    assert any(s.startswith("'sha256-") for s in scripts)
    assert "content-security-policy" not in api.headers  # JSON: nothing to execute


async def _serve_cdn_from_npm(route: Any) -> None:
    m = CDN_PATH.match(route.request.url)
    path = NODE_MODULES / m.group(1) / m.group(2) if m else None
    if path is None or not path.is_file():
        await route.fulfill(status=404, body="not vendored")
        return
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    await route.fulfill(
        status=200,
        body=path.read_bytes(),
        headers={"Content-Type": ctype, "Access-Control-Allow-Origin": "*"},
    )


async def test_graphiql_runs_under_its_policy(tab: Any, server: LiveServer) -> None:
    from playwright.async_api import expect

    assert (NODE_MODULES / "graphiql" / "graphiql.min.js").is_file(), "npm ci in tests/js"
    await tab.route("https://unpkg.com/**", _serve_cdn_from_npm)
    await tab.add_init_script(RECORD_VIOLATIONS)
    await tab.goto(f"{server.url}/graphql")
    editor = tab.locator(".graphiql-query-editor .CodeMirror").first
    await editor.wait_for()
    await editor.click()
    await tab.keyboard.press("Control+A")
    await tab.keyboard.type("{ __typename }")
    await tab.get_by_role("button", name=re.compile("Execute query")).click()
    await expect(tab.locator(".graphiql-response")).to_contain_text('"__typename": "Query"')
    assert await tab.evaluate("window.__violations") == []


async def test_console_cannot_be_framed(chromium: Any, server: LiveServer) -> None:
    """Another site framing the console (clickjacking) is refused by the browser."""
    context = await chromium.new_context()
    page = await context.new_page()
    try:
        await page.route(
            "http://framing.test/",
            lambda route: route.fulfill(
                status=200,
                content_type="text/html",
                body=f'<iframe id="f" src="{server.url}/ui/"></iframe>',
            ),
        )
        await page.goto("http://framing.test/", wait_until="load")  # waits for the iframe
        [framed] = [f for f in page.frames if f is not page.main_frame]
        assert framed.url.startswith("chrome-error://")  # the browser refused to render it
    finally:
        await context.close()
