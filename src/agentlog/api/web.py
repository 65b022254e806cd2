"""The web page: one static HTML file that reads the same API as everyone else."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

INDEX = Path(__file__).parent / "static" / "index.html"


async def index(request: Request) -> Response:
    return FileResponse(INDEX, media_type="text/html")
