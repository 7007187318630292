"""One small client interface over both APIs, so scenarios can run through either.

Values are neutral: base attributes by their Glance names, ``properties`` as a dict, errors
as :class:`ApiError` carrying the neutral error code (REST statuses are mapped back).
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from glimpse.core.config import Settings
from tests.conftest import token

BASE = ("name", "visibility", "protected", "os_hidden", "min_disk", "min_ram", "disk_format",
        "container_format", "owner")  # fmt: skip
STATUS_CODES = {400: "INVALID_INPUT", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT",
                413: "QUOTA_EXCEEDED", 401: "UNAUTHENTICATED"}  # fmt: skip


class ApiError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class ImageApi(Protocol):
    """What a parity scenario may do; ``who`` is a project (member role)."""

    async def create(self, values: dict[str, Any], who: str = "P1") -> str: ...
    async def get(self, image_id: str, who: str = "P1") -> dict[str, Any] | None: ...
    async def update(
        self, image_id: str, base: dict[str, Any], props: dict[str, str],
        remove: list[str], who: str = "P1",
    ) -> None: ...  # fmt: skip
    async def add_tag(self, image_id: str, tag: str, who: str = "P1") -> None: ...
    async def remove_tag(self, image_id: str, tag: str, who: str = "P1") -> None: ...
    async def delete(self, image_id: str, who: str = "P1") -> None: ...
    async def names(self, filters: dict[str, Any], who: str = "P1") -> list[str]: ...
    async def share(self, image_id: str, member: str, who: str = "P1") -> None: ...
    async def answer(self, image_id: str, status: str, who: str) -> None: ...
    async def set_active(self, image_id: str, active: bool, who: str = "P1") -> None: ...


def normal(name: str | None, base: dict[str, Any], tags: list[str], props: dict[str, str],
           status: str) -> dict[str, Any]:  # fmt: skip
    return {"name": name, **{k: base[k] for k in BASE if k != "name"}, "status": status,
            "tags": sorted(tags), "properties": dict(sorted(props.items()))}  # fmt: skip


class RestApi:
    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http, self.settings = http, settings

    async def _call(self, method: str, url: str, who: str, **kw: Any) -> httpx.Response:
        headers = {"X-Auth-Token": token(self.settings, who, "member", "reader"),
                   "Accept": "application/json", **kw.pop("headers", {})}  # fmt: skip
        r = await self.http.request(method, url, headers=headers, **kw)
        if r.status_code >= 400:
            raise ApiError(STATUS_CODES.get(r.status_code, str(r.status_code)))
        return r

    async def create(self, values: dict[str, Any], who: str = "P1") -> str:
        body = {k: v for k, v in values.items() if k != "properties"}
        body.update(values.get("properties", {}))
        image_id: str = (await self._call("POST", "/v2/images", who, json=body)).json()["id"]
        return image_id

    async def get(self, image_id: str, who: str = "P1") -> dict[str, Any] | None:
        try:
            b = (await self._call("GET", f"/v2/images/{image_id}", who)).json()
        except ApiError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise
        from glimpse.rest_compat.schemas import image_properties

        props = {k: v for k, v in b.items() if k not in image_properties()}
        return normal(b["name"], b, b["tags"], props, b["status"])

    async def update(self, image_id: str, base: dict[str, Any], props: dict[str, str],
                     remove: list[str], who: str = "P1") -> None:  # fmt: skip
        ops = [{"op": "replace", "path": f"/{k}", "value": v} for k, v in base.items()]
        ops += [{"op": "add", "path": f"/{k}", "value": v} for k, v in props.items()]
        ops += [{"op": "remove", "path": f"/{k}"} for k in remove]
        ctype = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
        await self._call("PATCH", f"/v2/images/{image_id}", who, json=ops, headers=ctype)

    async def add_tag(self, image_id: str, tag: str, who: str = "P1") -> None:
        await self._call("PUT", f"/v2/images/{image_id}/tags/{tag}", who)

    async def remove_tag(self, image_id: str, tag: str, who: str = "P1") -> None:
        await self._call("DELETE", f"/v2/images/{image_id}/tags/{tag}", who)

    async def delete(self, image_id: str, who: str = "P1") -> None:
        await self._call("DELETE", f"/v2/images/{image_id}", who)

    async def names(self, filters: dict[str, Any], who: str = "P1") -> list[str]:
        params: list[tuple[str, str]] = [("limit", "1000")]
        for k, v in filters.items():
            if k == "tags":
                params += [("tag", t) for t in v]
            elif k == "property_eq":
                params += [("property", f"{pk}={pv}") for pk, pv in v.items()]
            elif k == "property_contains":
                params += [("property", f"{pk}~{pv}") for pk, pv in v.items()]
            elif k == "name_contains":
                params.append(("metadata", f"name~{v}"))
            else:
                params.append((k, str(v).lower() if isinstance(v, bool) else str(v)))
        r = await self._call("GET", "/v2/images", who, params=params)
        return sorted(i["name"] for i in r.json()["images"])

    async def share(self, image_id: str, member: str, who: str = "P1") -> None:
        await self._call("POST", f"/v2/images/{image_id}/members", who, json={"member": member})

    async def answer(self, image_id: str, status: str, who: str) -> None:
        await self._call("PUT", f"/v2/images/{image_id}/members/{who}", who,
                         json={"status": status})  # fmt: skip

    async def set_active(self, image_id: str, active: bool, who: str = "P1") -> None:
        action = "reactivate" if active else "deactivate"
        await self._call("POST", f"/v2/images/{image_id}/actions/{action}", who)


IMAGE_FIELDS = """id name status visibility protected osHidden owner minDisk minRam diskFormat
containerFormat tags properties { key value }"""
SNAKE = {"osHidden": "os_hidden", "minDisk": "min_disk", "minRam": "min_ram",
         "diskFormat": "disk_format", "containerFormat": "container_format"}  # fmt: skip
CAMEL = {v: k for k, v in SNAKE.items()}


class GraphQLApi:
    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http, self.settings = http, settings

    async def _run(self, query: str, who: str, **variables: Any) -> dict[str, Any]:
        auth = {"Authorization": f"Bearer {token(self.settings, who, 'member', 'reader')}"}
        r = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=auth
        )
        body = r.json()
        if body.get("errors"):
            raise ApiError(body["errors"][0]["extensions"]["code"])
        data: dict[str, Any] = body["data"]
        return data

    def _input(self, values: dict[str, Any]) -> dict[str, Any]:
        out = {CAMEL.get(k, k): v for k, v in values.items() if k != "properties"}
        if "visibility" in out:
            out["visibility"] = out["visibility"].upper()
        return out

    async def create(self, values: dict[str, Any], who: str = "P1") -> str:
        inp = self._input(values)
        if "properties" in values:
            inp["properties"] = [{"key": k, "value": v} for k, v in values["properties"].items()]
        q = "mutation($i: CreateImageInput!) { createImage(input: $i) { id } }"
        image_id: str = (await self._run(q, who, i=inp))["createImage"]["id"]
        return image_id

    async def get(self, image_id: str, who: str = "P1") -> dict[str, Any] | None:
        q = f"query($id: ID!) {{ image(id: $id) {{ {IMAGE_FIELDS} }} }}"
        node = (await self._run(q, who, id=image_id))["image"]
        if node is None:
            return None
        base = {SNAKE.get(k, k): v for k, v in node.items()}
        base["visibility"] = base["visibility"].lower()
        props = {p["key"]: p["value"] for p in node["properties"]}
        return normal(node["name"], base, node["tags"], props, node["status"].lower())

    async def update(self, image_id: str, base: dict[str, Any], props: dict[str, str],
                     remove: list[str], who: str = "P1") -> None:  # fmt: skip
        inp = self._input(base)
        if props:
            inp["setProperties"] = [{"key": k, "value": v} for k, v in props.items()]
        if remove:
            inp["removeProperties"] = remove
        q = "mutation($id: ID!, $i: UpdateImageInput!) { updateImage(id: $id, input: $i) { id } }"
        await self._run(q, who, id=image_id, i=inp)

    async def add_tag(self, image_id: str, tag: str, who: str = "P1") -> None:
        q = "mutation($id: ID!, $t: String!) { addImageTag(id: $id, tag: $t) { id } }"
        await self._run(q, who, id=image_id, t=tag)

    async def remove_tag(self, image_id: str, tag: str, who: str = "P1") -> None:
        q = "mutation($id: ID!, $t: String!) { removeImageTag(id: $id, tag: $t) { id } }"
        await self._run(q, who, id=image_id, t=tag)

    async def delete(self, image_id: str, who: str = "P1") -> None:
        await self._run("mutation($id: ID!) { deleteImage(id: $id) { deleted } }", who, id=image_id)

    async def names(self, filters: dict[str, Any], who: str = "P1") -> list[str]:
        f: dict[str, Any] = {}
        for k, v in filters.items():
            if k == "property_eq":
                f.setdefault("properties", []).extend({"key": pk, "eq": pv} for pk, pv in v.items())
            elif k == "property_contains":
                f.setdefault("properties", []).extend(
                    {"key": pk, "contains": pv} for pk, pv in v.items()
                )
            elif k == "name_contains":
                f["name"] = {"contains": v}
            elif k in ("name", "disk_format", "owner"):
                f[CAMEL.get(k, k)] = {"eq": v}
            elif k in ("visibility", "member_status"):
                f[CAMEL.get(k, "memberStatus" if k == "member_status" else k)] = v.upper()
            else:
                f[CAMEL.get(k, k)] = v
        q = "query($f: ImageFilter) { images(filter: $f, first: 1000) { nodes { name } } }"
        nodes = (await self._run(q, who, f=f))["images"]["nodes"]
        return sorted(n["name"] for n in nodes)

    async def share(self, image_id: str, member: str, who: str = "P1") -> None:
        q = "mutation($id: ID!, $m: String!) { addImageMember(id: $id, member: $m) { status } }"
        await self._run(q, who, id=image_id, m=member)

    async def answer(self, image_id: str, status: str, who: str) -> None:
        q = """mutation($id: ID!, $m: String!, $s: MemberStatus!) {
            updateImageMember(id: $id, member: $m, status: $s) { status } }"""
        await self._run(q, who, id=image_id, m=who, s=status.upper())

    async def set_active(self, image_id: str, active: bool, who: str = "P1") -> None:
        name = "unpauseImage" if active else "pauseImage"
        await self._run(f"mutation($id: ID!) {{ {name}(id: $id) {{ id }} }}", who, id=image_id)
