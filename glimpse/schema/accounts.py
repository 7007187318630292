"""The ``login`` mutation: local accounts of the embedded default (see resolvers.accounts)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from glimpse.resolvers import accounts
from glimpse.schema.context import Info


@strawberry.type(description="A bearer token for a local account, and what it carries.")
class LoginPayload:
    token: str = strawberry.field(description="Send as 'Authorization: Bearer <token>'.")
    expires_at: datetime = strawberry.field(description="When the token stops working (UTC).")
    user: str = strawberry.field(description="The account name (the token's subject).")
    project: str | None = strawberry.field(description="Project the token is scoped to.")
    roles: list[str] = strawberry.field(description="Roles the token carries.")


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Exchange a local account's name and password for a token. Needs no "
        "token; failures are throttled and do not say whether the account exists."
    )
    async def login(self, info: Info, name: str, password: str) -> LoginPayload:
        request = info.context.request
        client = getattr(getattr(request, "client", None), "host", None)
        issued = await accounts.login(info.context.deps, name, password, client=client)
        return LoginPayload(
            token=issued.token,
            expires_at=issued.expires_at,
            user=issued.user,
            project=issued.project,
            roles=list(issued.roles),
        )
