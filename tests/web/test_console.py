"""The console in a real browser: sign-in, list and filter, upload, editors, actions."""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import REPO_ROOT, LiveServer
from tests.web.conftest import SHOTS, gql, make_image, sign_in, upload

pytestmark = pytest.mark.browser

IMAGE = """query($id: ID!) { image(id: $id) { id status checksum osHashValue tags protected
  properties { key value } members { memberId status } } }"""


async def test_sign_in_with_token_then_sign_out(tab: Any, server: LiveServer) -> None:
    await tab.goto(f"{server.url}/ui/")
    await expect(tab.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    # No login mutation on this server yet: only the token form is offered.
    has_login = "login(" in gql(server, "{ _service { sdl } }")["_service"]["sdl"]
    await expect(tab.get_by_label("Password")).to_have_count(1 if has_login else 0)

    await tab.get_by_label("Access token").fill("not-a-token")
    await tab.get_by_role("button", name="Sign in with token").click()
    alert = tab.get_by_role("alert")
    await expect(alert).to_contain_text("You are not signed in, or your sign-in has expired.")
    await expect(alert).not_to_contain_text("Traceback")

    await tab.get_by_label("Access token").fill(server.token("P1", user="alice"))
    await tab.get_by_role("button", name="Sign in with token").click()
    await expect(tab.get_by_role("heading", name="Images", exact=True)).to_be_visible()
    await expect(tab.locator("#who-name")).to_have_text("alice · project P1")
    assert await tab.evaluate("sessionStorage.getItem('glimpse.token')")
    assert await tab.evaluate("document.cookie") == ""

    await tab.get_by_role("button", name="Sign out").click()
    await expect(tab.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    assert await tab.evaluate("sessionStorage.getItem('glimpse.token')") is None


async def test_list_filters_sort_paging_and_bookmark(tab: Any, server: LiveServer) -> None:
    token = server.token("LIST", user="lister")
    specs = [
        ("alpha-debian", "qcow2", ["linux", "lts"], "debian"),
        ("bravo-debian", "raw", ["linux"], "debian"),
        ("charlie-ubuntu", "qcow2", ["linux"], "ubuntu"),
        ("delta-windows", "vhd", ["win"], "windows"),
        ("echo-empty", "iso", [], "none"),
    ]
    for name, disk, tags, distro in specs:
        make_image(
            server,
            token,
            name=name,
            diskFormat=disk,
            containerFormat="bare",
            visibility="PRIVATE",
            tags=tags,
            properties=[{"key": "os_distro", "value": distro}],
        )
    await sign_in(tab, server, token)
    rows = tab.locator("table.images tbody tr")
    await expect(rows).to_have_count(5)
    await expect(tab.locator(".count")).to_have_text("5 images match")

    await tab.get_by_label("Search by name").fill("debian")
    await expect(rows).to_have_count(2)
    assert "q=debian" in tab.url

    await tab.get_by_label("Disk format", exact=True).select_option("raw")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("bravo-debian")
    await tab.get_by_role("button", name="Clear").click()
    await expect(rows).to_have_count(5)

    await tab.get_by_label("Tags (all of)").fill("linux, lts")
    await tab.get_by_role("button", name="Apply filters").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("alpha-debian")
    await tab.get_by_label("Tags (all of)").fill("")
    await tab.get_by_label("Property name").fill("os_distro")
    await tab.get_by_label("Property value").fill("ubuntu")
    await tab.get_by_role("button", name="Apply filters").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("charlie-ubuntu")

    # The URL is the view: opening it again (a bookmark) shows the same filter.
    bookmark = tab.url
    await tab.goto("about:blank")
    await tab.goto(bookmark)
    await expect(rows).to_have_count(1)
    await expect(tab.get_by_label("Property value")).to_have_value("ubuntu")
    await tab.get_by_role("button", name="Clear").click()
    await expect(rows).to_have_count(5)

    # Sort by name ascending, then page through two at a time.
    await tab.get_by_role("button", name=re.compile("^Sort by Name")).click()
    await expect(tab.locator("th[aria-sort=ascending]")).to_contain_text("Name")
    await tab.goto(tab.url + "&n=2")
    await expect(tab.get_by_label("Per page")).to_have_value("2")
    names = tab.locator("table.images td.name a")
    await expect(names).to_have_text(["alpha-debian", "bravo-debian"])
    await tab.get_by_role("button", name="Next →").click()
    await expect(names).to_have_text(["charlie-ubuntu", "delta-windows"])
    await tab.get_by_role("button", name="Next →").click()
    await expect(names).to_have_text(["echo-empty"])
    await expect(tab.get_by_role("button", name="Next →")).to_be_disabled()
    await tab.get_by_role("button", name="← Previous").click()
    await expect(names).to_have_text(["charlie-ubuntu", "delta-windows"])
    await expect(tab.locator("td.num").first).to_have_text("—")


async def test_create_upload_and_verify_checksum(
    tab: Any, server: LiveServer, tmp_path: Any
) -> None:
    data = os.urandom(3 * 1024 * 1024 + 123)
    path = tmp_path / "cirros.qcow2"
    path.write_bytes(data)
    await sign_in(tab, server)
    await tab.get_by_role("link", name="Upload", exact=True).click()
    await tab.get_by_label("choose a file…").set_input_files(str(path))
    await expect(tab.get_by_label("Name")).to_have_value("cirros.qcow2")
    await tab.get_by_label("Disk format").select_option("raw")
    await tab.get_by_label("Tags").fill("uploaded, test")
    await tab.get_by_role("button", name="Create and upload").click()
    await expect(tab.get_by_role("heading", name=re.compile("Upload complete"))).to_be_visible(
        timeout=30000
    )
    await expect(tab.get_by_text("✓ Verified")).to_be_visible()
    await expect(tab.locator(".badge").first).to_have_text("active")
    server_sha = await tab.locator("#server-hash").text_content()
    assert server_sha == hashlib.sha512(data).hexdigest()
    await expect(tab.locator("#local-hash")).to_have_text(server_sha)
    await expect(tab.get_by_text(hashlib.md5(data).hexdigest())).to_be_visible()

    await tab.get_by_role("link", name="Open the image").click()
    await expect(tab.get_by_role("heading", name="cirros.qcow2")).to_be_visible()
    await expect(tab.get_by_text("3.00 MiB (3,145,851 bytes)").first).to_be_visible()
    # Download through the signed link: the bytes are the uploaded ones.
    async with tab.expect_download() as info:
        await tab.get_by_role("button", name="Download").click()
    download = await info.value
    assert download.suggested_filename == "cirros.qcow2.raw"
    assert (await download.path()).read_bytes() == data


async def test_upload_progress_and_cancel(tab: Any, server: LiveServer, tmp_path: Any) -> None:
    path = tmp_path / "big.raw"
    path.write_bytes(os.urandom(64 * 1024 * 1024))
    await sign_in(tab, server)
    # Slow the network so there is time to see progress and press Cancel.
    cdp = await tab.context.new_cdp_session(tab)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": 2 * 1024 * 1024,
        },
    )
    await tab.goto(f"{server.url}/ui/#/new")
    await tab.get_by_label("choose a file…").set_input_files(str(path))
    await tab.get_by_role("button", name="Create and upload").click()
    text = tab.locator(".progress-text")
    await expect(text).to_contain_text(re.compile(r"of 64.0 MiB · .*/s · .* left"), timeout=20000)
    await expect(tab.locator("progress")).to_have_attribute("value", re.compile(r"^[1-9]"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    await tab.screenshot(path=str(SHOTS / "upload-in-progress.png"))
    await tab.get_by_role("button", name="Cancel upload").click()
    await expect(tab.get_by_role("alert")).to_contain_text("Cancelled.")
    await tab.get_by_role("link", name="Open it").click()
    await expect(tab.locator(".titlebar .badge")).to_have_text("queued", timeout=10000)


async def test_edit_properties_and_tags(tab: Any, server: LiveServer) -> None:
    img = make_image(
        server,
        name="editable",
        diskFormat="raw",
        containerFormat="bare",
        tags=["old"],
        properties=[{"key": "os_distro", "value": "debian"}],
    )
    await sign_in(tab, server)
    await tab.goto(f"{server.url}/ui/#/image/{img['id']}")
    await expect(tab.get_by_role("heading", name="editable")).to_be_visible()

    await tab.get_by_label("New property name").fill("hw_disk_bus")
    await tab.get_by_label("Value", exact=True).fill("virtio")
    await tab.get_by_role("button", name="Add property").click()
    await expect(tab.get_by_label("Value of hw_disk_bus")).to_have_value("virtio")
    await tab.get_by_label("Value of os_distro").fill("ubuntu")
    await tab.locator("tr[data-key=os_distro]").get_by_role("button", name="Save").click()
    await expect(tab.get_by_text("Property os_distro saved")).to_be_visible()
    await tab.get_by_role("button", name="Remove property hw_disk_bus").click()
    await expect(tab.get_by_label("Value of hw_disk_bus")).to_have_count(0)

    await tab.get_by_label("New tag").fill("fresh")
    await tab.get_by_label("New tag").press("Enter")
    await expect(tab.get_by_role("button", name="Remove tag fresh")).to_be_visible()
    await expect(tab.get_by_label("New tag")).to_be_focused()
    await tab.get_by_role("button", name="Remove tag old").click()
    await expect(tab.get_by_role("button", name="Remove tag old")).to_have_count(0)
    await expect(tab.locator(".timeline .event").first).to_be_visible()

    got = gql(server, IMAGE, {"id": img["id"]})["image"]
    assert got["tags"] == ["fresh"]
    assert got["properties"] == [{"key": "os_distro", "value": "ubuntu"}]


async def test_share_pause_unpause(tab: Any, server: LiveServer) -> None:
    img = make_image(
        server, name="shared-one", diskFormat="raw", containerFormat="bare", visibility="SHARED"
    )
    upload(server, img, b"x" * 4096)
    await sign_in(tab, server)
    await tab.goto(f"{server.url}/ui/#/image/{img['id']}")
    await tab.get_by_label("Project id").fill("P2")
    await tab.get_by_role("button", name="Share").click()
    member_row = tab.locator("table.members tbody tr")
    await expect(member_row).to_contain_text("P2")
    await expect(member_row.locator(".badge")).to_have_text("pending")

    await tab.get_by_role("button", name="Pause").click()
    await expect(tab.locator(".titlebar .badge")).to_have_text("deactivated")
    await expect(tab.get_by_role("button", name="Download")).to_have_count(0)
    await tab.get_by_role("button", name="Unpause").click()
    await expect(tab.locator(".titlebar .badge")).to_have_text("active")
    got = gql(server, IMAGE, {"id": img["id"]})["image"]
    assert got["members"] == [{"memberId": "P2", "status": "PENDING"}]
    assert got["status"] == "ACTIVE"

    # The member project sees the share and can accept it.
    member = await tab.context.new_page()
    await sign_in(member, server, server.token("P2", user="bob"))
    await member.goto(f"{server.url}/ui/#/image/{img['id']}")
    await member.get_by_role("button", name="Accept").click()
    await expect(member.locator("table.members .badge")).to_have_text("accepted")
    await member.close()


async def test_delete_with_confirmation_and_protection(tab: Any, server: LiveServer) -> None:
    keep = make_image(server, name="keep-me", protected=True)
    gone = make_image(server, name="delete-me")
    await sign_in(tab, server)
    await tab.goto(f"{server.url}/ui/#/image/{keep['id']}")
    await expect(tab.get_by_role("button", name="Delete")).to_be_disabled()
    await expect(
        tab.get_by_text("This image is protected, so it cannot be deleted.")
    ).to_be_visible()

    await tab.goto(f"{server.url}/ui/#/image/{gone['id']}")
    await tab.get_by_role("button", name="Delete").click()
    dialog = tab.get_by_role("dialog")
    await expect(dialog).to_contain_text("This cannot be undone.")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(tab.get_by_role("heading", name="delete-me")).to_be_visible()
    await tab.get_by_role("button", name="Delete").click()
    await tab.get_by_role("dialog").get_by_role("button", name="Delete image").click()
    await expect(tab.get_by_role("heading", name="Images", exact=True)).to_be_visible()
    assert gql(server, IMAGE, {"id": gone["id"]})["image"] is None
    assert gql(server, IMAGE, {"id": keep["id"]})["image"]["protected"] is True


async def test_phone_layout_and_keyboard(tab: Any, server: LiveServer) -> None:
    make_image(server, name="phone-visible", diskFormat="qcow2", containerFormat="bare", tags=["m"])
    await tab.set_viewport_size({"width": 390, "height": 844})
    await sign_in(tab, server)
    card = tab.locator("table.images tbody tr").first
    await expect(card).to_be_visible()
    # Rows become cards: no horizontal scrolling at phone width.
    assert await tab.evaluate("document.documentElement.scrollWidth") <= 390
    # Keyboard: the skip link is the first stop and leads into the content, which holds the
    # search box; every control has an accessible name.
    await tab.reload()
    await expect(card).to_be_visible()
    await tab.keyboard.press("Tab")
    await expect(tab.get_by_role("link", name="Skip to content")).to_be_focused()
    await tab.keyboard.press("Enter")
    await expect(tab.locator("main")).to_be_focused()
    await tab.keyboard.press("Tab")
    await tab.keyboard.press("Tab")
    await expect(tab.get_by_label("Search by name")).to_be_focused()
    assert "#/images" in tab.url
    unlabeled = await tab.evaluate("""() => [...document.querySelectorAll('input,select,textarea')]
        .filter(e => e.type !== 'hidden' && !e.labels?.length && !e.getAttribute('aria-label'))
        .map(e => e.name)""")
    assert unlabeled == []

    # The detail page stacks into one column without sideways scrolling either.
    await tab.locator("table.images td.name a").first.click()
    await expect(tab.get_by_role("heading", name="phone-visible")).to_be_visible()
    assert await tab.evaluate("document.documentElement.scrollWidth") <= 390


async def test_sign_in_with_a_local_account(tab: Any, server: LiveServer) -> None:
    """Name and password (a local account made with the CLI) give a working session; a
    wrong password is a plain message that does not say whether the account exists."""
    import sys

    import anyio

    await anyio.run_process(
        [
            sys.executable,
            "-m",
            "glimpse",
            "user",
            "add",
            "--data-dir",
            str(server.data_dir),
            "--project",
            "P7",
            "--roles",
            "member,reader",
            "--password-stdin",
            "carol",
        ],
        input=b"correct horse battery staple\n",
        cwd=REPO_ROOT,
    )
    await tab.goto(f"{server.url}/ui/")
    await tab.get_by_label("User name").fill("carol")
    await tab.get_by_label("Password").fill("wrong password")
    await tab.get_by_role("button", name="Sign in", exact=True).click()
    alert = tab.get_by_role("alert")
    await expect(alert).to_be_visible()
    await expect(alert).not_to_contain_text("carol")
    await expect(alert).not_to_contain_text("Traceback")

    await tab.get_by_label("Password").fill("correct horse battery staple")
    await tab.get_by_role("button", name="Sign in", exact=True).click()
    await expect(tab.get_by_role("heading", name="Images", exact=True)).to_be_visible()
    await expect(tab.locator("#who-name")).to_have_text("carol · project P7")
    await tab.screenshot(path=str(SHOTS / "test_sign_in_with_a_local_account.png"))
