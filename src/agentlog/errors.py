"""The errors agentlog raises, and the one place they become HTTP statuses.

::

    AgentlogError
    ├── InvalidRequest          malformed OTLP, bad parameters          400 / INVALID_ARGUMENT
    │   └── UnsupportedMediaType  a content type or encoding we do not read  415
    ├── PayloadTooLarge         body or decompressed body over the limit  413 / RESOURCE_EXHAUSTED
    ├── RequestTimeout          a body that does not arrive in time      408
    ├── Overloaded              intake is full; retry after a delay      503 / UNAVAILABLE
    ├── ShuttingDown            the server is stopping                  503 / UNAVAILABLE
    ├── NotFound                an unknown run                           404 / NOT_FOUND
    ├── Conflict                not for this store, or not now (upkeep)  409
    ├── Unauthenticated         a missing or wrong API key               401 / UNAUTHENTICATED
    ├── Forbidden               a key whose role does not allow this     403 / PERMISSION_DENIED
    ├── ConventionsError        a conventions file that cannot apply    (at start: exit 2)
    └── StoreError              the database refused a write            500 / INTERNAL
        ├── SchemaTooNew        the file was written by a newer agentlog
        └── DatabaseFailed      DuckDB invalidated the database (a fatal error): the server stops

gRPC codes are mapped in ``agentlog.collector.grpc_receiver``; HTTP statuses
here, in ``HTTP_STATUS``.
"""

from __future__ import annotations


class AgentlogError(Exception):
    """Base of every error agentlog raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(AgentlogError):
    """The request cannot be read: malformed protobuf or JSON, bad parameters."""


class UnsupportedMediaType(InvalidRequest):
    """A Content-Type or Content-Encoding agentlog does not read."""


class PayloadTooLarge(AgentlogError):
    """A body, or what it decompresses to, is larger than the configured limit."""


class RequestTimeout(AgentlogError):
    """A client too slow to send its request body (a slow-loris, or a broken link)."""


class Overloaded(AgentlogError):
    """Intake is at its bound; the sender should retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ShuttingDown(Overloaded):
    """The server is stopping and accepts no new work; another instance may."""


class NotFound(AgentlogError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class Conflict(AgentlogError):
    """The request does not apply to the store as it is: lake upkeep asked of a DuckDB file, or a pass
    asked for while another process runs one."""


class Unauthenticated(AgentlogError):
    """No API key, or one that is not (or no longer) valid."""


class Forbidden(AgentlogError):
    """A valid key whose role does not allow the operation."""


class ConventionsError(AgentlogError):
    """An organisation's conventions file that cannot apply (agentlog.proto.conventions_file)."""


class StoreError(AgentlogError):
    """The database refused an operation that should have worked."""


class SchemaTooNew(StoreError):
    """The database file was written by a newer agentlog than this one."""


class DatabaseFailed(StoreError):
    """DuckDB hit a fatal error and invalidated the open database; only a restart recovers it."""


HTTP_STATUS: dict[type[AgentlogError], int] = {
    UnsupportedMediaType: 415,
    InvalidRequest: 400,
    PayloadTooLarge: 413,
    RequestTimeout: 408,
    Overloaded: 503,
    NotFound: 404,
    Conflict: 409,
    Unauthenticated: 401,
    Forbidden: 403,
    StoreError: 500,
}


def http_status(error: AgentlogError) -> int:
    """The HTTP status for ``error``: the entry of its nearest class in ``HTTP_STATUS``."""
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500
