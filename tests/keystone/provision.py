"""Provisioning a test Keystone through its own REST API (admin token): projects, users and
their role assignments, the image service in the catalog, unified limits."""

from __future__ import annotations

from typing import Any

import httpx

from tests.keystone.server import PASSWORD, REGION, Keystone


def _create(c: httpx.Client, path: str, key: str, body: dict[str, Any]) -> str:
    r = c.post(path, json={key: body})
    assert r.status_code == 201, f"POST {path}: {r.status_code} {r.text}"
    ident: str = r.json()[key]["id"]
    return ident


def _role_ids(c: httpx.Client) -> dict[str, str]:
    r = c.get("/roles")
    r.raise_for_status()
    return {role["name"]: role["id"] for role in r.json()["roles"]}


def ensure_role(c: httpx.Client, name: str) -> str:
    roles = _role_ids(c)
    return roles[name] if name in roles else _create(c, "/roles", "role", {"name": name})


def create_project(ks: Keystone, name: str) -> str:
    with ks.client() as c:
        pid = _create(c, "/projects", "project", {"name": name, "domain_id": "default"})
    ks.ids[f"project:{name}"] = pid
    return pid


def create_user(ks: Keystone, name: str, grants: dict[str, str], password: str = PASSWORD) -> str:
    """A user in the Default domain with ``role`` on each ``project`` of ``grants``."""
    with ks.client() as c:
        uid = _create(
            c, "/users", "user", {"name": name, "domain_id": "default", "password": password}
        )
        for project, role in grants.items():
            pid = ks.ids[f"project:{project}"]
            rid = ensure_role(c, role)
            r = c.put(f"/projects/{pid}/users/{uid}/roles/{rid}")
            assert r.status_code == 204, r.text
    ks.ids[f"user:{name}"] = uid
    return uid


def grant_system_reader(ks: Keystone, user: str) -> None:
    """``reader`` on the system for ``user``: what reading unified limits needs."""
    with ks.client() as c:
        rid = ensure_role(c, "reader")
        r = c.put(f"/system/users/{ks.ids[f'user:{user}']}/roles/{rid}")
        assert r.status_code == 204, r.text


def register_image_service(ks: Keystone, url: str, service_type: str = "image") -> None:
    """Add (or re-point) the public/internal/admin endpoints of the ``image`` service (or of
    another service type, e.g. a second image API worker)."""
    with ks.client() as c:
        r = c.get("/services", params={"type": service_type})
        r.raise_for_status()
        found = r.json()["services"]
        body = {"type": service_type, "name": "glance" if service_type == "image" else service_type}
        sid = found[0]["id"] if found else _create(c, "/services", "service", body)
        r = c.get("/endpoints", params={"service_id": sid})
        r.raise_for_status()
        for endpoint in r.json()["endpoints"]:
            c.delete(f"/endpoints/{endpoint['id']}").raise_for_status()
        for interface in ("public", "internal", "admin"):
            _create(
                c,
                "/endpoints",
                "endpoint",
                {"service_id": sid, "interface": interface, "url": url, "region_id": REGION},
            )
    ks.ids[f"service:{service_type}"] = sid


def set_limit(ks: Keystone, project: str | None, resource: str, value: int) -> None:
    """A registered (default) limit, or a project limit when ``project`` is given."""
    sid = ks.ids["service:image"]
    with ks.client() as c:
        if project is None:
            body = {"service_id": sid, "resource_name": resource, "default_limit": value}
            r = c.post("/registered_limits", json={"registered_limits": [body]})
        else:
            body = {
                "service_id": sid,
                "project_id": ks.ids[f"project:{project}"],
                "resource_name": resource,
                "resource_limit": value,
            }
            r = c.post("/limits", json={"limits": [body]})
        assert r.status_code == 201, r.text


def provision(ks: Keystone) -> None:
    """The standard cast: a service user (``service`` role on project ``service``), two
    projects with a member and a reader each, three more projects for image members."""
    for name in ("service", "alpha", "beta", "gamma", "delta", "epsilon"):
        create_project(ks, name)
    create_user(ks, "glimpse", {"service": "service"})
    create_user(ks, "alice", {"alpha": "member"})
    create_user(ks, "rita", {"alpha": "reader"})
    create_user(ks, "bob", {"beta": "member"})
    create_user(ks, "rob", {"beta": "reader"})
    create_user(ks, "gina", {"gamma": "member"})
    create_user(ks, "dora", {"delta": "member"})
    create_user(ks, "emil", {"epsilon": "member"})
