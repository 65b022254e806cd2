"""Who is asking: the API key on each request, turned into a Scope, and the role each route needs.

While its database has never had a key agentlog is open (one local tenant,
loopback only). Once a key was created, for good (also after every key was
revoked), every request but ``/healthz``, ``/openapi.json`` and the
page's files need ``Authorization: Bearer <key>`` (a WebSocket may pass
``?token=<key>`` instead, since browsers cannot set its headers).
Another tenant's data, and another user's runs for a user-bound key, are
never visible: queries are filtered by the Scope, so they look like data
that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from agentlog.api.errors import error_code, error_response
from agentlog.api.web import PAGE_PATHS, STATIC_PATHS, is_page_or_asset
from agentlog.errors import AgentlogError, http_status
from agentlog.query.scope import scope_for
from agentlog.store.keys import Keyring, Principal, require

OPEN_PATHS = frozenset({"/healthz", "/openapi.json", *PAGE_PATHS, *STATIC_PATHS})
"""Paths (as OpenAPI names them) that need no key: the page asks for one itself."""
Endpoint = Callable[[Request], Awaitable[Response]]


class AuthMiddleware:
    """Sets ``state.principal`` and ``state.scope`` on every HTTP and WebSocket connection."""

    def __init__(self, app: ASGIApp, keyring: Keyring) -> None:
        self.app = app
        self.keyring = keyring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        try:
            principal = self._principal(connection)
        except AgentlogError as error:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": error.message[:120]})
                return
            response = error_response(http_status(error), error_code(error), error.message)
            response.headers["WWW-Authenticate"] = "Bearer"
            await response(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["scope"] = scope_for(principal)
        await self.app(scope, receive, send)

    def _principal(self, connection: HTTPConnection) -> Principal | None:
        path = connection.url.path
        if path in OPEN_PATHS or is_page_or_asset(path):
            return None if not self.keyring.enabled else _try(self.keyring, connection)
        authorization = connection.headers.get("authorization")
        if authorization is None and connection.scope["type"] == "websocket" and connection.query_params.get("token"):
            authorization = "Bearer " + connection.query_params["token"]
        return self.keyring.principal(authorization)


def _try(keyring: Keyring, connection: HTTPConnection) -> Principal | None:
    try:
        return keyring.principal(connection.headers.get("authorization"))
    except AgentlogError:
        return None


def principal_of(connection: HTTPConnection) -> Principal | None:
    principal: Principal | None = getattr(connection.state, "principal", None)
    return principal


def needs(*roles: str) -> Callable[[Endpoint], Endpoint]:
    """Route decorator: the caller's key must have one of ``roles`` (any caller in open local mode)."""

    def wrap(endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            require(principal_of(request), *roles)
            return await endpoint(request)

        guarded.__name__ = endpoint.__name__
        guarded.__doc__ = endpoint.__doc__
        return guarded

    return wrap
