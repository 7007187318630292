"""Helpers for GraphQL wire tests: authenticated POSTs and small image factories."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from glimpse.core.config import Settings
from tests.conftest import token

GQL = "application/graphql-response+json"


class Client:
    """A GraphQL client over the in-process app, acting as one persona."""

    def __init__(self, http: httpx.AsyncClient, bearer: str | None) -> None:
        self.http, self.bearer = http, bearer

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **extra: Any
    ) -> httpx.Response:
        headers = {"accept": GQL}
        if self.bearer:
            headers["authorization"] = f"Bearer {self.bearer}"
        body: dict[str, Any] = {"query": query, **extra}
        if variables is not None:
            body["variables"] = variables
        return await self.http.post("/graphql", json=body, headers=headers)

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """Run and insist on success: the ``data`` of an error-free response."""
        r = await self.post(query, variables)
        body = r.json()
        assert r.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error_code(self, query: str, variables: dict[str, Any] | None = None) -> str:
        """Run and insist on exactly one error; its ``extensions.code``."""
        body = (await self.post(query, variables)).json()
        assert len(body.get("errors", [])) == 1, body
        code: str = body["errors"][0]["extensions"]["code"]
        return code


@pytest.fixture
def as_member(http: httpx.AsyncClient, settings: Settings) -> Client:
    return Client(http, token(settings, "P1", "member", "reader"))


@pytest.fixture
def as_reader(http: httpx.AsyncClient, settings: Settings) -> Client:
    return Client(http, token(settings, "P1", "reader"))


@pytest.fixture
def as_other(http: httpx.AsyncClient, settings: Settings) -> Client:
    return Client(http, token(settings, "P2", "member", "reader"))


@pytest.fixture
def as_admin(http: httpx.AsyncClient, settings: Settings) -> Client:
    return Client(http, token(settings, "admin", "admin", "member", "reader"))


@pytest.fixture
def anonymous(http: httpx.AsyncClient) -> Client:
    return Client(http, None)


CREATE = """
mutation($input: CreateImageInput!) { createImage(input: $input) { id name } }
"""


async def make_image(client: Client, **fields: Any) -> str:
    """Create an image through GraphQL; returns its id."""
    data = await client.data(CREATE, {"input": fields})
    image_id: str = data["createImage"]["id"]
    return image_id
