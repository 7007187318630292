"""``createDownloadLink``: a short-lived URL so browsers can download without a header."""

from __future__ import annotations

from datetime import datetime

import strawberry

from glimpse.resolvers import links
from glimpse.schema.context import Info


@strawberry.type(description="A signed, short-lived, single-use download URL for one image.")
class DownloadLink:
    url: str = strawberry.field(
        description="Path relative to the service root; GET it once, without credentials."
    )
    expires_at: datetime = strawberry.field(description="After this time the URL is refused.")


@strawberry.type
class LinkMutation:
    @strawberry.mutation(
        description="Sign a single-use download URL for an image (same checks as a download), "
        "valid for a minute and never longer than the credential that asked for it."
    )
    async def create_download_link(self, info: Info, id: strawberry.ID) -> DownloadLink:
        link = await links.create_download_link(info.context.deps, info.context.caller(), str(id))
        return DownloadLink(url=link.path, expires_at=link.expires_at)
