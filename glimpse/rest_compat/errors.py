"""Error responses in Glance's shapes, negotiated on ``Accept`` like webob does.

One handler for the whole neutral error tree: REST handlers never catch and re-map.
JSON (when the client prefers it): ``{"message", "code": "404 Not Found", "title"}``; HTML for
``*/*`` (python-glanceclient's default, which cannot parse flat JSON errors); plain text
otherwise.
"""

from __future__ import annotations

import html
import logging
from http import HTTPStatus

from starlette.requests import Request
from starlette.responses import Response

from glimpse.core import errors
from glimpse.rest_compat.responses import JSONResponse

log = logging.getLogger(__name__)

STATUS: dict[type[errors.GlimpseError], int] = {
    errors.UnsupportedMediaType: 415,
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.QuotaExceeded: 413,
    errors.PayloadTooLarge: 413,
    errors.RateLimited: 429,
    errors.RangeNotSatisfiable: 416,
    errors.StoreUnavailable: 503,
    errors.ServiceUnavailable: 503,
}


def status_of(exc: errors.GlimpseError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """Render ``message`` with ``status`` in the format the client asked for."""
    phrase = HTTPStatus(status).phrase
    line = f"{status} {phrase}"
    accept = request.headers.get("accept", "")
    kind = _negotiate(accept)
    if kind == "json":
        body = {"message": f"{message}<br /><br />\n\n\n", "code": line, "title": phrase}
        return JSONResponse(body, status_code=status, headers=headers)
    if kind == "html":
        text = (
            f"<html>\n <head>\n  <title>{line}</title>\n </head>\n <body>\n  <h1>{line}</h1>\n"
            f"  {html.escape(message)}<br /><br />\n\n\n\n </body>\n</html>"
        )
        return Response(text, status_code=status, media_type="text/html", headers=headers)
    return Response(
        f"{line}\n\n{message}\n\n   ", status_code=status, media_type="text/plain", headers=headers
    )


def _negotiate(accept: str) -> str:
    """webob's choice between text/html and application/json, else text/plain."""
    best, best_q = "plain", 0.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        kind = {
            "application/json": "json",
            "text/html": "html",
            "*/*": "html",
            "text/*": "html",
            "application/*": "json",
        }.get(media)
        if kind and (q > best_q or (q == best_q and media == "application/json")):
            best, best_q = kind, q
    return best


async def handle_glimpse_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.GlimpseError)
    status = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="glimpse"'
    headers.update(exc.details.get("headers", {}))
    return error_response(request, status, exc.message, headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    rid = request.scope.get("glimpse.request_id", "")
    log.exception("unexpected error in %s %s (%s)", request.method, request.url.path, rid)
    return error_response(request, 500, f"Internal server error (request {rid})")
