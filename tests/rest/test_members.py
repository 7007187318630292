"""``/v2/images/{id}/members``: owner versus member rules, shared images only (spec §1.9)."""

from __future__ import annotations

from tests.rest.conftest import Api


async def _shared(api: Api, member: str = "P2") -> str:
    image_id: str = (await api.create(name="s"))["id"]
    r = await api.request("POST", f"/v2/images/{image_id}/members", json={"member": member})
    assert r.status_code == 200, r.text
    return image_id


async def test_member_object_and_list(api: Api) -> None:
    image_id = await _shared(api)
    r = await api.get(f"/v2/images/{image_id}/members/P2")
    body = r.json()
    assert set(body) == {"image_id", "member_id", "status", "created_at", "updated_at", "schema"}
    assert (body["image_id"], body["member_id"], body["status"]) == (image_id, "P2", "pending")
    assert body["schema"] == "/v2/schemas/member"
    listing = (await api.get(f"/v2/images/{image_id}/members")).json()
    assert listing["schema"] == "/v2/schemas/members"
    assert [m["member_id"] for m in listing["members"]] == ["P2"]


async def test_member_rules_table(api: Api) -> None:
    image_id = await _shared(api)
    await api.request("POST", f"/v2/images/{image_id}/members", json={"member": "P3"})
    private = (await api.create(name="p", visibility="private"))["id"]
    public = (await api.create(name="pub", who="admin", visibility="public"))["id"]
    base = f"/v2/images/{image_id}/members"
    cases = [
        # (method, url, persona, body, status)
        ("POST", base, "p1", {"member": "P2"}, 409),
        ("POST", base, "p1", {"member": ""}, 400),
        ("POST", base, "p1", {}, 400),
        ("POST", base, "p1", {"member": 5}, 400),
        ("POST", base, "p2", {"member": "P4"}, 403),
        ("POST", base, "p4", {"member": "P4"}, 404),
        ("POST", f"/v2/images/{private}/members", "p1", {"member": "P2"}, 403),
        ("POST", f"/v2/images/{public}/members", "admin", {"member": "P2"}, 403),
        ("GET", f"/v2/images/{private}/members", "p1", None, 403),
        ("GET", f"/v2/images/{public}/members", "p2", None, 403),
        ("GET", base, "p4", None, 404),
        ("GET", f"{base}/P3", "p2", None, 404),  # members only see themselves
        ("GET", f"{base}/P9", "p1", None, 404),
        ("GET", f"{base}/P2", "p2", None, 200),
        ("PUT", f"{base}/P2", "p2", {"status": "bogus"}, 400),
        ("PUT", f"{base}/P2", "p2", {}, 400),
        ("PUT", f"{base}/P2", "p1", {"status": "accepted"}, 403),  # owners cannot answer
        ("PUT", f"{base}/P3", "p2", {"status": "accepted"}, 404),
        ("PUT", f"{base}/P2", "p2", {"status": "rejected"}, 200),
        ("PUT", f"{base}/P2", "p2", {"status": "pending"}, 200),
        ("PUT", f"{base}/P2", "p2", {"status": "accepted"}, 200),
        ("DELETE", f"{base}/P2", "p2", None, 403),  # a member cannot remove itself
        ("DELETE", f"{base}/P9", "p1", None, 404),
        ("DELETE", f"{base}/P3", "p1", None, 204),
        ("GET", f"{base}/P3", "p1", None, 404),
    ]
    wrong = []
    for method, url, who, body, expected in cases:
        r = await api.request(method, url, who=who, json=body)
        if r.status_code != expected:
            wrong.append((method, url.replace(image_id, "I"), who, body, expected, r.status_code))
    assert wrong == []
    listing = (await api.get(f"{base}", who="p2")).json()["members"]
    assert [(m["member_id"], m["status"]) for m in listing] == [("P2", "accepted")]


async def test_member_quota(api: Api) -> None:
    image_id = (await api.create(name="q"))["id"]
    for i in range(128):
        r = await api.request("POST", f"/v2/images/{image_id}/members", json={"member": f"M{i}"})
        assert r.status_code == 200
    r = await api.request("POST", f"/v2/images/{image_id}/members", json={"member": "M999"})
    assert r.status_code == 413
