"""``WS /api/v1/agents/live``: run and node events pushed as they commit.

The writer publishes each commit's sequence number to the ``LiveFeed``; each
connection then reads the events of the commits it has not seen (in a worker
thread, like every read) and sends them as one message:
``{"cursor": "<seq>", "events": [...]}``. A client that reconnects with
``?cursor=<last cursor>`` gets everything committed since.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from agentlog.api import params
from agentlog.api.auth import principal_of
from agentlog.api.errors import error_code
from agentlog.api.openapi import query_parameters
from agentlog.errors import AgentlogError
from agentlog.query.live import LiveFilter, commits, events, events_and_commits, late_events, latest_cursor
from agentlog.query.logs import parse_run_id
from agentlog.query.reader import Reader
from agentlog.query.scope import Scope
from agentlog.store.keys import READERS, require

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008  # WebSocket close code for a request we refuse


LATE_CHECK_SECONDS = 0.5
"""On a lake, how often a stream looks for commits that landed after later-numbered ones were sent."""
LATE_WINDOW_COMMITS = 10_000
"""How far below its cursor a stream looks for them (commit numbers; minutes of a busy lake's commits)."""


class LiveFeed:
    """The newest committed sequence number, and a way to wait for a newer one. ``out_of_order``: commits
    may land in another order than their numbers' (several collectors on a lake number them from one
    sequence), so each stream also looks below its cursor for commits it has not sent."""

    def __init__(self, seq: int = 0, *, out_of_order: bool = False) -> None:
        self.seq = seq
        self.out_of_order = out_of_order
        self._changed = asyncio.Event()

    def publish(self, seq: int) -> None:
        """Called on the event loop after each commit."""
        if seq > self.seq:
            self.seq = seq
            self._changed.set()
            self._changed = asyncio.Event()

    async def wait_beyond(self, seq: int) -> int:
        while self.seq <= seq:
            await self._changed.wait()
        return self.seq


def _live_filter(connection: HTTPConnection) -> tuple[LiveFilter, int | None]:
    q = connection.query_params
    params.check_declared(q, query_parameters(connection.url.path, "get"))
    params.text(q, "token")  # read by the auth middleware; checked here like every parameter
    run_id = params.text(q, "run_id")
    after = params.cursor_number(q, "cursor")
    live = LiveFilter(
        agent_id=params.text(q, "agent_id"),
        user_id=params.text(q, "user_id"),
        trace_id=parse_run_id(run_id) if run_id else None,
    )
    return live, after


async def upgrade_required(request: Request) -> Response:
    """A plain HTTP GET of the feed: its parameters are checked as the WebSocket's are, then a 426
    says it is a WebSocket (rather than a 404 saying nothing is here)."""
    _live_filter(request)
    raise HTTPException(426, "this is a WebSocket: connect with ws:// (or wss://)", headers={"Upgrade": "websocket"})


async def live_events(websocket: WebSocket) -> None:
    """Accept, send the greeting, then each commit's events until the client goes away.

    A client leaving, normally or not, ends the connection quietly: it is not an error.
    """
    await websocket.accept()
    try:
        await _stream(websocket)
    except WebSocketDisconnect:
        pass  # the client went away while we were sending: nothing left to do
    finally:
        await _close(websocket)


async def _stream(websocket: WebSocket) -> None:
    scope = getattr(websocket.state, "scope", None)
    scope = scope if isinstance(scope, Scope) else Scope()
    reader: Reader = websocket.app.state.reader
    feed: LiveFeed = websocket.app.state.feed
    try:
        require(principal_of(websocket), *READERS)
        live, after = _live_filter(websocket)
    except AgentlogError as error:
        await websocket.send_json({"error": {"code": error_code(error), "message": error.message}})
        await websocket.close(POLICY_VIOLATION, error.message[:120])
        return
    if after is None:
        after = await reader.read(latest_cursor)
    await websocket.send_json({"cursor": str(after), "events": []})
    # On a lake: the commits of the window below the cursor that were sent (or were there at the start).
    sent = await reader.read(commits, max(0, after - LATE_WINDOW_COMMITS), after) if feed.out_of_order else set()
    disconnected = asyncio.ensure_future(_until_disconnect(websocket))
    try:
        while not disconnected.done():
            upto = max(feed.seq, after)
            if upto > after:
                if feed.out_of_order:
                    found, landed = await reader.read(events_and_commits, scope, live, after, upto)
                    sent |= landed
                else:
                    found = await reader.read(events, scope, live, after, upto)
                if found:
                    await websocket.send_json({"cursor": str(upto), "events": found})
                after = upto
            if feed.out_of_order:
                sent = await _send_late(websocket, reader, scope, live, after, sent)
            waiting = asyncio.ensure_future(feed.wait_beyond(after))
            timeout = LATE_CHECK_SECONDS if feed.out_of_order else None
            await asyncio.wait({waiting, disconnected}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
    finally:
        disconnected.cancel()


async def _send_late(
    websocket: WebSocket, reader: Reader, scope: Scope, live: LiveFilter, after: int, sent: set[int]
) -> set[int]:
    """Send the events of commits numbered at most ``after`` that landed since (none of ``sent``); the
    commits of the window sent now."""
    low = max(0, after - LATE_WINDOW_COMMITS)
    present = await reader.read(commits, low, after)
    late = present - sent
    if late:
        found = await reader.read(late_events, scope, live, late)
        if found:
            await websocket.send_json({"cursor": str(after), "events": found})
    return present


async def _close(websocket: WebSocket) -> None:
    """Close our side unless either side already has; a client that leaves meanwhile is fine."""
    if WebSocketState.CONNECTED == websocket.application_state == websocket.client_state:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close()


async def _until_disconnect(websocket: WebSocket) -> None:
    """Reads (and ignores) client messages until it goes away."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
