"""The web page: a single-page app of static files that reads the same API as everyone else.

Every page's URL (``/``, ``/runs/{run_id}``, ``/sessions/{session_id}``, ``/compare``,
``/dashboard``) answers the same ``index.html``; its scripts route on the address. The page's
own modules are ``/static/{name}``, the vendored libraries ``/static/vendor/{name}``. Their URLs
are not versioned, so they are served ``no-cache`` (revalidated by ETag): a new agentlog's page
never runs an old module.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response

STATIC = Path(__file__).parent / "static"
INDEX = STATIC / "index.html"
PAGE_PATHS = ("/", "/runs/{run_id}", "/sessions/{session_id}", "/compare", "/dashboard")
STATIC_PATHS = ("/static/{name}", "/static/vendor/{name}")
OPEN_PREFIXES = ("/runs/", "/sessions/", "/static/")
"""Paths under these, like the pages themselves, need no key: the page asks for one itself."""
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}
NO_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def _files(directory: Path) -> dict[str, Path]:
    return {p.name: p for p in directory.iterdir() if p.is_file() and p.suffix in CONTENT_TYPES}


FILES = _files(STATIC)
VENDOR = _files(STATIC / "vendor")


def is_page_or_asset(path: str) -> bool:
    return path in ("/", "/compare", "/dashboard") or path.startswith(OPEN_PREFIXES)


async def index(request: Request) -> Response:
    return FileResponse(INDEX, media_type="text/html; charset=utf-8", headers=NO_CACHE)


def _serve(files: dict[str, Path], name: str) -> Response:
    path = files.get(name)
    if path is None:
        raise HTTPException(404, f"no such file: {name[:80]}")
    return FileResponse(path, media_type=CONTENT_TYPES[path.suffix], headers=NO_CACHE)


async def static_file(request: Request) -> Response:
    return _serve(FILES, request.path_params["name"])


async def vendor_file(request: Request) -> Response:
    return _serve(VENDOR, request.path_params["name"])
