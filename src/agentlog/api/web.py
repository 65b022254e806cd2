"""The web page: a single-page app of static files that reads the same API as everyone else.

Every page's URL (``/``, ``/runs/{run_id}``, ``/sessions``, ``/sessions/{session_id}``, ``/compare``,
``/dashboard``) answers the same ``index.html``; its scripts route on the address. The page's
own modules are ``/static/{name}``, the vendored libraries ``/static/vendor/{name}``. Their URLs
are not versioned, so they are served ``no-cache`` (revalidated by ETag): a new agentlog's page
never runs an old module. The files are few and small (~250 KB): read once, answered from memory.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

STATIC = Path(__file__).parent / "static"
INDEX = STATIC / "index.html"
PAGE_PATHS = ("/", "/runs/{run_id}", "/sessions", "/sessions/{session_id}", "/compare", "/dashboard")
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


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str

    def response(self, request: Request) -> Response:
        headers = {**NO_CACHE, "ETag": self.etag}
        if request.headers.get("if-none-match") == self.etag:
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def _asset(path: Path, media_type: str) -> Asset:
    body = path.read_bytes()
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _files(directory: Path) -> dict[str, Asset]:
    return {
        p.name: _asset(p, CONTENT_TYPES[p.suffix])
        for p in directory.iterdir()
        if p.is_file() and p.suffix in CONTENT_TYPES
    }


PAGE = _asset(INDEX, "text/html; charset=utf-8")
FILES = _files(STATIC)
VENDOR = _files(STATIC / "vendor")


def is_page_or_asset(path: str) -> bool:
    return path in ("/", "/sessions", "/compare", "/dashboard") or path.startswith(OPEN_PREFIXES)


async def index(request: Request) -> Response:
    return PAGE.response(request)


def _serve(files: dict[str, Asset], request: Request) -> Response:
    name = request.path_params["name"]
    asset = files.get(name)
    if asset is None:
        raise HTTPException(404, f"no such file: {name[:80]}")
    return asset.response(request)


async def static_file(request: Request) -> Response:
    return _serve(FILES, request)


async def vendor_file(request: Request) -> Response:
    return _serve(VENDOR, request)
