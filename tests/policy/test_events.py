"""Every change is logged with the acting user and project, whichever API made it; and the
log shown through GraphQL reveals no more about members than REST's members API."""

from __future__ import annotations

import httpx
from sqlmodel import col, select

from glimpse.core.config import Settings
from glimpse.models.tables import ImageEvent
from glimpse.resolvers.deps import Deps
from tests.conftest import token
from tests.policy.helpers import gql

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTET = {"Content-Type": "application/octet-stream"}


def _h(settings: Settings, project: str, user: str, *roles: str) -> dict[str, str]:
    return {"X-Auth-Token": token(settings, project, *(roles or ("member", "reader")), user=user)}


async def _rest_changes(http: httpx.AsyncClient, h: dict[str, str]) -> str:
    r = await http.post(
        "/v2/images",
        json={"name": "r", "disk_format": "raw", "container_format": "bare"},
        headers=h,
    )
    i = r.json()["id"]
    steps = [
        http.patch(
            f"/v2/images/{i}",
            json=[{"op": "add", "path": "/k", "value": "v"}],
            headers={**h, **PATCH},
        ),
        http.put(f"/v2/images/{i}/tags/a", headers=h),
        http.delete(f"/v2/images/{i}/tags/a", headers=h),
        http.put(f"/v2/images/{i}/file", content=b"data", headers={**h, **OCTET}),
        http.post(f"/v2/images/{i}/actions/deactivate", headers=h),
        http.post(f"/v2/images/{i}/actions/reactivate", headers=h),
        http.delete(f"/v2/images/{i}", headers=h),
    ]
    for step in steps:
        assert (await step).status_code in (200, 204), step
    return str(i)


async def _gql_changes(http: httpx.AsyncClient, h: dict[str, str], member_h: dict[str, str]) -> str:
    body = await gql(http, h, 'mutation { createImage(input: {name: "g"}) { id } }')
    i = body["data"]["createImage"]["id"]
    for q in (
        'updateImage(id: $id, input: {name: "g2"}) { id }',
        'addImageTag(id: $id, tag: "a") { id }',
        'removeImageTag(id: $id, tag: "a") { id }',
        'addImageMember(id: $id, member: "P3") { memberId }',
    ):
        assert not (await gql(http, h, f"mutation($id: ID!) {{ {q} }}", id=i)).get("errors")
    accept = (
        'mutation($id: ID!) { updateImageMember(id: $id, member: "P3", status: ACCEPTED) '
        "{ status } }"
    )
    assert not (await gql(http, member_h, accept, id=i)).get("errors")
    return str(i)


async def test_every_change_records_user_and_project(
    http: httpx.AsyncClient, deps: Deps, settings: Settings
) -> None:
    alice = _h(settings, "P1", "alice")
    carol = _h(settings, "P3", "carol")
    rest_id = await _rest_changes(http, alice)
    gql_id = await _gql_changes(http, alice, carol)
    async with deps.db.read() as s:
        rows = (
            await s.exec(
                select(ImageEvent)
                .where(col(ImageEvent.image_id).in_([rest_id, gql_id]))
                .order_by(col(ImageEvent.id))
            )
        ).all()
    by_image = {
        i: [(e.action, e.user_id, e.project_id) for e in rows if e.image_id == i]
        for i in (rest_id, gql_id)
    }
    assert all(e.request_id for e in rows)
    a = ("alice", "P1")
    assert by_image[rest_id] == [
        ("create", *a),
        ("update", *a),
        ("add_tag", *a),
        ("remove_tag", *a),
        ("upload_started", *a),
        ("upload", *a),
        ("deactivate", *a),
        ("reactivate", *a),
        ("delete", *a),
    ]
    assert by_image[gql_id] == [
        ("create", *a),
        ("update", *a),
        ("add_tag", *a),
        ("remove_tag", *a),
        ("add_member", *a),
        ("update_member", "carol", "P3"),
    ]


async def test_event_log_hides_other_members_from_a_member(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    owner = _h(settings, "P1", "alice")
    body = await gql(http, owner, 'mutation { createImage(input: {name: "s"}) { id } }')
    i = body["data"]["createImage"]["id"]
    for member in ("P3", "P4"):
        add = f'mutation($id: ID!) {{ addImageMember(id: $id, member: "{member}") {{ memberId }} }}'
        assert not (await gql(http, owner, add, id=i)).get("errors")
    q = "query($id: ID!) { image(id: $id) { events { action changes } members { memberId } } }"

    async def seen(headers: dict[str, str]) -> tuple[set[str], set[str]]:
        image = (await gql(http, headers, q, id=i))["data"]["image"]
        logged = {e["changes"]["member"] for e in image["events"] if "member" in e["changes"]}
        return logged, {m["memberId"] for m in image["members"]}

    assert await seen(owner) == ({"P3", "P4"}, {"P3", "P4"})
    assert await seen(_h(settings, "P3", "carol")) == ({"P3"}, {"P3"})
    r = await http.get(f"/v2/images/{i}", headers=_h(settings, "P2", "eve"))
    assert r.status_code == 404
