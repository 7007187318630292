"""A small graphql-transport-ws client over a real WebSocket, for live-server tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class GqlSocket:
    """One connection: ``subscribe`` operations, read messages with a deadline."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, seconds: float = 20) -> dict[str, Any]:
        async with asyncio.timeout(seconds):
            message: dict[str, Any] = json.loads(await self.ws.recv())
        return message

    async def subscribe(
        self,
        op_id: str,
        query: str | None,
        variables: dict[str, Any] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        payload: dict[str, Any] = {"variables": variables or {}}
        if query is not None:
            payload["query"] = query
        if extensions is not None:
            payload["extensions"] = extensions
        await self.send({"id": op_id, "type": "subscribe", "payload": payload})

    async def until_done(self, op_id: str, seconds: float = 30) -> list[dict[str, Any]]:
        """Messages of ``op_id`` up to and including its ``complete`` or ``error``."""
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(seconds):
            while True:
                message = await self.recv(seconds)
                if message.get("id") != op_id:
                    continue
                seen.append(message)
                if message["type"] in ("complete", "error"):
                    return seen


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def gql_socket(base: str, token: str | None, *, ack: bool = True) -> AsyncIterator[GqlSocket]:
    """A connection initialised with ``token`` in its payload (as browsers must send it)."""
    async with connect(
        ws_url(base),
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_size=None,
    ) as ws:
        sock = GqlSocket(ws)
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await sock.send({"type": "connection_init", "payload": payload})
        if ack:
            assert (await sock.recv())["type"] == "connection_ack"
        yield sock
