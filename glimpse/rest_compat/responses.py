"""JSON responses rendered with orjson: the same bytes Starlette's JSONResponse would send
(UTF-8, no ASCII escaping, compact), several times faster on image pages."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # a value orjson does not know: fall back to the standard encoder
            return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
