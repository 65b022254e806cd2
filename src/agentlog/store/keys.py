"""API keys: created random, shown once, stored hashed; each carries a tenant, a role and maybe a user.

A key reads ``al_<key_id>_<secret>``: ``key_id`` (12 hex digits) finds the
row, the secret (43 URL-safe characters, 256 random bits) is checked against
its SHA-256 in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from agentlog.errors import Forbidden, InvalidRequest, NotFound, Unauthenticated

ROLES = ("ingest", "read", "admin")
READERS = ("read", "admin")
"""The roles that read history, logs, stats, metrics and the live feed."""
ADMINS = ("admin",)
"""The role that manages keys, retention, repricing, SQL and export (of its own tenant)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$")
_KEY = re.compile(r"^al_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")

INSERT = """
INSERT INTO api_keys (key_id, secret_hash, tenant_id, role, user_id, label)
VALUES ($key_id, $hash, $tenant, $role, $user, $label)
"""
ACTIVE = "SELECT key_id, secret_hash, tenant_id, role, user_id FROM api_keys WHERE revoked_at IS NULL"
EVER = "SELECT EXISTS (SELECT 1 FROM api_keys)"
LIST = """
SELECT key_id, tenant_id, role, user_id, label, epoch_ms(created_at), epoch_ms(revoked_at)
FROM api_keys WHERE $tenant IS NULL OR tenant_id = $tenant ORDER BY created_at, key_id
"""
REVOKE = """
UPDATE api_keys SET revoked_at = now()
WHERE key_id = $key_id AND revoked_at IS NULL AND ($tenant IS NULL OR tenant_id = $tenant)
"""


@dataclass(frozen=True)
class Principal:
    """Who a request is: the tenant it acts in, what it may do, and whose runs it may read."""

    key_id: str
    tenant_id: str
    role: str
    user_id: str | None


@dataclass(frozen=True)
class KeyRow:
    key_id: str
    secret_hash: str
    principal: Principal


def check_name(value: str, what: str) -> str:
    """Tenant and user ids: short, printable, no spaces or quotes."""
    if not _NAME.match(value):
        raise InvalidRequest(f"{what} must be 1-128 characters of letters, digits and _.@:- (got {value!r})")
    return value


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    cursor: Any, tenant_id: str, role: str, user_id: str | None = None, label: str | None = None
) -> tuple[str, Principal]:
    """A new key: returns the full key (shown once, never stored) and what it grants."""
    check_name(tenant_id, "tenant")
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if user_id is not None:
        check_name(user_id, "user")
        if role != "read":
            raise InvalidRequest("only read keys are bound to a user")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    cursor.execute(INSERT, {"key_id": key_id, "hash": hash_secret(secret), "tenant": tenant_id, "role": role,
                            "user": user_id, "label": label})  # fmt: skip
    return f"al_{key_id}_{secret}", Principal(key_id, tenant_id, role, user_id)


def active_keys(cursor: Any) -> dict[str, KeyRow]:
    """Every key not revoked, by key_id."""
    return {
        key_id: KeyRow(key_id, secret_hash, Principal(key_id, tenant, role, user))
        for key_id, secret_hash, tenant, role, user in cursor.execute(ACTIVE).fetchall()
    }


def list_keys(cursor: Any, tenant_id: str | None = None) -> list[dict[str, Any]]:
    rows = cursor.execute(LIST, {"tenant": tenant_id}).fetchall()
    names = ("key_id", "tenant_id", "role", "user_id", "label", "created_ms", "revoked_ms")
    return [dict(zip(names, row, strict=True)) for row in rows]


def revoke_key(cursor: Any, key_id: str, tenant_id: str | None = None) -> None:
    """Revoke ``key_id`` (only within ``tenant_id`` when given); NotFound if no such active key."""
    (changed,) = cursor.execute(REVOKE, {"key_id": key_id, "tenant": tenant_id}).fetchone()
    if not changed:
        raise NotFound(f"no active key {key_id!r}")


def ever_had_keys(cursor: Any) -> bool:
    """True once any key was ever created in this database, revoked or not."""
    return bool(cursor.execute(EVER).fetchone()[0])


def authenticate(keys: dict[str, KeyRow], presented: str) -> Principal | None:
    """The principal of ``presented`` if it is an active key; None otherwise (never says why)."""
    match = _KEY.match(presented.strip())
    if not match:
        return None
    row = keys.get(match.group(1))
    if row is None or not hmac.compare_digest(row.secret_hash, hash_secret(match.group(2))):
        return None
    return row.principal


class Keyring:
    """The active keys of a database, kept in memory.

    A database that has never had a key runs open (one local tenant). Once any
    key was created it is locked for good: every request needs an active key,
    also after every key was revoked (then nothing gets in until the operator
    creates a new key on the database file). ``reload`` after keys change.
    ``principal`` turns an Authorization value into a Principal or raises
    Unauthenticated; ``require`` checks a role.
    """

    def __init__(self, keys: dict[str, KeyRow] | None = None, *, locked: bool = False) -> None:
        self._keys = keys or {}
        self._locked = locked or bool(self._keys)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, cursor: Any) -> Keyring:
        return cls(active_keys(cursor), locked=ever_had_keys(cursor))

    def reload(self, cursor: Any) -> None:
        keys = active_keys(cursor)
        locked = ever_had_keys(cursor)
        with self._lock:
            self._keys = keys
            # Never unlocks: not even if the key table were emptied behind this process's back.
            self._locked = self._locked or locked or bool(keys)

    @property
    def enabled(self) -> bool:
        """True once any key was ever created (revoked or not): from then on every request needs one."""
        return self._locked

    def principal(self, authorization: str | None) -> Principal | None:
        """The caller; None only while the database has never had a key (open local mode)."""
        if not self._locked:
            return None
        if not authorization:
            raise Unauthenticated("an API key is required: send Authorization: Bearer <key>")
        scheme, _, value = authorization.strip().partition(" ")
        presented = value if scheme.lower() == "bearer" else authorization
        principal = authenticate(self._keys, presented)
        if principal is None:
            raise Unauthenticated("the API key is not valid (wrong, revoked or malformed)")
        return principal


def managed_tenant(principal: Principal | None, requested: str | None) -> str:
    """The tenant whose keys ``principal`` manages: ``requested``, else its own. An admin key manages
    its own tenant only; the local operator (None: no keys, or the database file opened without one)
    names any tenant."""
    tenant = requested or (principal.tenant_id if principal else None)
    if tenant is None:
        raise InvalidRequest("tenant is required")
    if principal is not None and tenant != principal.tenant_id:
        raise Forbidden("an admin key manages keys of its own tenant only")
    return tenant


def require(principal: Principal | None, *roles: str) -> None:
    """Forbidden unless ``principal`` (None: open local mode) has one of ``roles``."""
    if principal is not None and principal.role not in roles:
        raise Forbidden(f"this needs a key with role {' or '.join(roles)}; yours is {principal.role}")
