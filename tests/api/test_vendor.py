"""The web page's vendored libraries are exactly the pinned packages' files (web/package-lock.json);
``./scripts/vendor-web`` copies them. Every file the page loads is served, with its content type."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerHandle

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
VENDOR = ROOT / "src" / "agentlog" / "api" / "static" / "vendor"
VENDORED = [line.split() for line in (WEB / "vendored.txt").read_text().splitlines() if line.strip()]


@pytest.mark.parametrize(("source", "target"), VENDORED, ids=[target for _, target in VENDORED])
def test_a_vendored_file_is_its_pinned_packages_file(source: str, target: str) -> None:
    installed = WEB / "node_modules" / source
    if not installed.exists():
        pytest.skip("web/node_modules is missing: npm ci --prefix web (scripts/test does)")
    package = source.split("/", maxsplit=1)[0]
    lock = json.loads((WEB / "package-lock.json").read_text())
    pinned = lock["packages"][f"node_modules/{package}"]["version"]
    installed_version = json.loads((WEB / "node_modules" / package / "package.json").read_text())["version"]
    assert installed_version == pinned, f"{package}: npm ci --prefix web"
    assert (VENDOR / target).read_bytes() == installed.read_bytes(), (
        f"{target} differs from {source}: ./scripts/vendor-web"
    )


def test_nothing_else_is_vendored() -> None:
    assert sorted(p.name for p in VENDOR.iterdir()) == sorted(target for _, target in VENDORED)


def test_every_page_url_is_the_page_and_every_asset_has_its_type(server: ServerHandle) -> None:
    page = httpx.get(server.api_url + "/", timeout=10)
    assert page.headers["content-type"].startswith("text/html")
    for path in ("/runs/" + "ab" * 16, "/sessions/s-1", "/compare?a=1&b=2", "/dashboard", "/?agent_id=x&q=y"):
        response = httpx.get(server.api_url + path, timeout=10)
        assert (response.status_code, response.text) == (200, page.text), path
    static = ROOT / "src" / "agentlog" / "api" / "static"
    for path in [*static.glob("*.js"), *static.glob("*.css"), *VENDOR.iterdir()]:
        url = "/static/" + ("vendor/" if path.parent == VENDOR else "") + path.name
        response = httpx.get(server.api_url + url, timeout=10)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "no-cache"
        expected = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}[path.suffix]
        assert response.headers["content-type"].startswith(expected), url
        assert response.content == path.read_bytes()
    assert httpx.get(server.api_url + "/static/nope.js", timeout=10).status_code == 404
    assert httpx.get(server.api_url + "/static/../web.py", timeout=10).status_code == 404
