"""Who is calling and on behalf of which request: passed to every operation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    """An authenticated (or anonymous) caller.

    ``project_id`` is the project the token is scoped to; ``None`` is a token with no project,
    a persona Glance also knows (it sees public images only).
    """

    user_id: str | None
    project_id: str | None
    roles: frozenset[str] = frozenset()
    authenticated: bool = True
    # Set for tokens issued by a local-account login: revocable (see resolvers.accounts).
    account: str | None = None
    issued_at: int | None = None
    # When the credential stops being valid (epoch seconds; None: no expiry known). Long-lived
    # uses of one credential (subscriptions, download links) end with it.
    expires_at: int | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(user_id=None, project_id=None, roles=frozenset(), authenticated=False)


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


@dataclass(frozen=True)
class RequestContext:
    """The caller plus request-scoped facts every operation may record (e.g. in events)."""

    principal: Principal
    request_id: str = field(default_factory=new_request_id)

    @property
    def project_id(self) -> str | None:
        return self.principal.project_id

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin
