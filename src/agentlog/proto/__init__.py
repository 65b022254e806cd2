"""Wire formats -> span rows.

``parse_protobuf`` and ``parse_json`` turn OTLP bodies into one request message;
``decode_spans`` turns that message into column lists the store inserts. All
pure functions: transports move bytes, this package understands them.
"""

from agentlog.proto.otlp import parse_json, parse_protobuf, response_json, response_protobuf
from agentlog.proto.spans import DEFAULT_MAX_ATTRIBUTE_LENGTH, SPAN_COLUMNS, SpanBatch, decode_spans

__all__ = [
    "DEFAULT_MAX_ATTRIBUTE_LENGTH",
    "SPAN_COLUMNS",
    "SpanBatch",
    "decode_spans",
    "parse_json",
    "parse_protobuf",
    "response_json",
    "response_protobuf",
]
