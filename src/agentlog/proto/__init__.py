"""Wire formats -> span rows.

``decode_request`` turns one OTLP export request (protobuf or JSON bytes) into
an Arrow table of span rows (``SPAN_ROWS``) the store inserts, and
``decode_log_request`` one logs export request into log record rows
(``LOG_ROWS``); ``parse_*`` and
``response_*`` read requests and write answers. All pure functions:
transports move bytes, this package understands them.
"""

from agentlog.proto.logs import LOG_ROWS, decode_log_request
from agentlog.proto.otlp import Signal, parse_json, parse_protobuf, response_json, response_protobuf
from agentlog.proto.rows import SPAN_ROWS, Decoded, Encoding, decode_request, decode_requests
from agentlog.proto.spans import DEFAULT_MAX_ATTRIBUTE_LENGTH

__all__ = [
    "DEFAULT_MAX_ATTRIBUTE_LENGTH",
    "LOG_ROWS",
    "SPAN_ROWS",
    "Decoded",
    "Encoding",
    "Signal",
    "decode_log_request",
    "decode_request",
    "decode_requests",
    "parse_json",
    "parse_protobuf",
    "response_json",
    "response_protobuf",
]
