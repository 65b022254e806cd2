"""Response classes."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class ORJSONResponse(JSONResponse):
    """JSON rendered by orjson: several times faster than json.dumps on large logs."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
