"""Signed download links for browsers (see :mod:`glimpse.policy.links`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.errors import Conflict, Unauthenticated
from glimpse.models.tables import UsedLink
from glimpse.policy.links import LinkGrant, mint_link_token, verify_link_token
from glimpse.resolvers import data
from glimpse.resolvers.accounts import account_token_valid
from glimpse.resolvers.deps import Deps

DOWNLOAD = "download_image"


@dataclass(frozen=True)
class DownloadLink:
    """A path (relative to the service root) that downloads once without headers."""

    path: str
    expires_at: datetime


async def create_download_link(deps: Deps, ctx: RequestContext, image_id: str) -> DownloadLink:
    """Check now what a download would check, then sign a one-minute, single-use link.

    The download itself checks again (status or sharing may change within the minute).
    """
    dl = await data.prepare_download(deps, ctx, image_id)
    if dl.store is None:
        raise Conflict("The image has no data to download yet")
    token, exp = mint_link_token(deps.settings, ctx.principal, action=DOWNLOAD, target=image_id)
    return DownloadLink(
        path=f"/ui/download/{image_id}?sig={token}",
        expires_at=datetime.fromtimestamp(exp, UTC),
    )


async def open_download(deps: Deps, image_id: str, token: str, request_id: str) -> data.Download:
    """The download a link grants, checked like any download, then spent: the link's
    account must still be valid, and a link works once (Unauthenticated otherwise)."""
    grant = verify_link_token(deps.settings, token, action=DOWNLOAD, target=image_id)
    if not await account_token_valid(deps, grant.principal):
        raise Unauthenticated("The sign-in that made this link was revoked; sign in again")
    ctx = RequestContext(principal=grant.principal, request_id=request_id)
    dl = await data.prepare_download(deps, ctx, image_id)
    await redeem(deps, grant)
    return dl


async def redeem(deps: Deps, grant: LinkGrant) -> None:
    """Record the link as used; a second redemption (any process) is refused."""
    expires = datetime.fromtimestamp(grant.expires_at, UTC).replace(tzinfo=None)
    try:
        async with deps.db.begin() as s:
            await s.exec(delete(UsedLink).where(col(UsedLink.expires_at) < utcnow()))
            s.add(UsedLink(jti=grant.jti, expires_at=expires))
    except IntegrityError as exc:
        raise Unauthenticated("This link was already used; ask for a new one") from exc
