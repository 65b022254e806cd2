"""The web page in a real browser (headless Chromium): it shows the history, with or without API keys."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentlog.store import Database
from agentlog.store.keys import create_key
from tests.api.sdk_runs import send_run
from tests.conftest import ServerHandle, start_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (.ci/run installs Debian's chromium)")


def rendered(url: str, tmp_path: Path) -> str:
    """The page's DOM once its scripts have run (virtual time: no real waiting)."""
    result = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    return result.stdout


@pytest.fixture
def keyed_server(db_path: Path) -> Iterator[tuple[ServerHandle, str, str]]:
    database = Database.open(db_path)
    ingest_key, _ = create_key(database.cursor(), "acme", "ingest")
    read_key, _ = create_key(database.cursor(), "acme", "read")
    database.close()
    server = start_server(db=str(db_path))
    try:
        yield server, ingest_key, read_key
    finally:
        server.stop()


def test_the_page_lists_runs_without_keys(server: ServerHandle, tmp_path: Path) -> None:
    run_id = send_run(server.grpc_endpoint, agent="web-agent", input_text="look at me")
    dom = rendered(server.api_url + "/", tmp_path)
    assert f'data-run="{run_id}"' in dom
    assert "web-agent" in dom and "look at me" in dom
    assert '<form id="keyform" hidden="">' in dom  # no key asked for
    assert '<span class="live" id="live">live</span>' in dom  # the live feed's WebSocket opened


def test_with_keys_the_page_asks_for_one_and_shows_runs_with_it(
    keyed_server: tuple[ServerHandle, str, str], tmp_path: Path
) -> None:
    server, ingest_key, read_key = keyed_server
    run_id = send_run(server.grpc_endpoint, agent="keyed-agent", headers={"authorization": f"Bearer {ingest_key}"})

    without = rendered(server.api_url + "/", tmp_path / "first")
    assert f'data-run="{run_id}"' not in without
    assert '<form id="keyform">' in without  # shown
    assert "API key" in without

    with_key = rendered(server.api_url + f"/#key={read_key}", tmp_path / "second")
    assert f'data-run="{run_id}"' in with_key and "keyed-agent" in with_key
    assert '<form id="keyform" hidden="">' in with_key
