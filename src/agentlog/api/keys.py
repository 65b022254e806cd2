"""``/api/v1/keys``: create, list and revoke API keys (admin keys, within their own tenant).

In open local mode (the database never had a key) anyone who can reach the
loopback API may create the first key; from then on keys are needed, also
after every key was revoked (then the operator creates one on the database
file with the CLI).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from agentlog.api.auth import needs, principal_of
from agentlog.api.operations import json_body, writer_of
from agentlog.api.responses import ORJSONResponse
from agentlog.errors import InvalidRequest
from agentlog.store import keys
from agentlog.store.keys import ADMINS, Keyring


def _keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


async def _reload(request: Request) -> None:
    await request.app.state.reader.read(_keyring(request).reload)


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string")
    return value


@needs(*ADMINS)
async def create_key(request: Request) -> Response:
    body = await json_body(request)
    tenant = keys.managed_tenant(principal_of(request), _optional_text(body, "tenant"))
    role = _optional_text(body, "role") or "read"
    user = _optional_text(body, "user")
    label = _optional_text(body, "label")
    key, granted = await writer_of(request)(lambda cursor: keys.create_key(cursor, tenant, role, user, label))
    await _reload(request)
    return ORJSONResponse(
        {"key": key, "key_id": granted.key_id, "tenant_id": tenant, "role": role, "user_id": user}, status_code=201
    )


@needs(*ADMINS)
async def list_keys(request: Request) -> Response:
    principal = principal_of(request)
    tenant = principal.tenant_id if principal else None
    return ORJSONResponse(await request.app.state.reader.read(lambda cursor: keys.list_keys(cursor, tenant)))


@needs(*ADMINS)
async def revoke_key(request: Request) -> Response:
    principal = principal_of(request)
    tenant = principal.tenant_id if principal else None
    key_id = request.path_params["key_id"]
    await writer_of(request)(lambda cursor: keys.revoke_key(cursor, key_id, tenant))
    await _reload(request)
    return Response(status_code=204)
