"""Signed download links for browsers (see :mod:`glimpse.policy.links`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from glimpse.core.context import RequestContext
from glimpse.core.errors import Conflict
from glimpse.policy.links import mint_link_token, verify_link_token
from glimpse.resolvers import data
from glimpse.resolvers.deps import Deps

DOWNLOAD = "download_image"


@dataclass(frozen=True)
class DownloadLink:
    """A path (relative to the service root) that downloads without headers, until expiry."""

    path: str
    expires_at: datetime


async def create_download_link(deps: Deps, ctx: RequestContext, image_id: str) -> DownloadLink:
    """Check now what a download would check, then sign a one-minute link for it.

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


def context_from_link(deps: Deps, image_id: str, token: str, request_id: str) -> RequestContext:
    """The caller a download link speaks for (raises Unauthenticated when it is not valid)."""
    principal = verify_link_token(deps.settings, token, action=DOWNLOAD, target=image_id)
    return RequestContext(principal=principal, request_id=request_id)
