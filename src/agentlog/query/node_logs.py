"""The log records of a run's nodes, and what they tell of a node's input and output.

Each node of the logs endpoint gets ``log_records``: the records whose trace
id and span id are the node's, oldest first (at most ``MAX_PER_NODE``), each
``{time, severity_text, severity_number, event_name, body, attributes}`` with
the body and attributes as JSON values.

GenAI instrumentations may put a model call's messages in log records (events)
rather than on its span. A node with no input (output) of its own shows, in
this order of preference:

- the ``gen_ai.input.messages`` (``gen_ai.output.messages``) attribute of its
  first ``gen_ai.client.inference.operation.details`` event, as the span path
  shows the attribute: a string as it is, anything else as its JSON text;
- else the per-message events of the older conventions: the bodies of its
  ``gen_ai.system.message``, ``gen_ai.user.message``,
  ``gen_ai.assistant.message`` and ``gen_ai.tool.message`` events in time
  order, as a JSON list of messages (each with its ``role`` from the event's
  name when the body has none); for the output, the body of its
  ``gen_ai.choice`` event (a JSON list of them when there are several).

Such text is cut to the attribute length limit, as the span's own would be.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson

from agentlog.proto import DEFAULT_MAX_ATTRIBUTE_LENGTH
from agentlog.proto.anyvalue import truncate
from agentlog.proto.ids import trace_id_hex
from agentlog.query.statements import read_sql
from agentlog.query.timefmt import iso_utc

NODE_LOG_RECORDS_SQL = read_sql("node_log_records.sql")

MAX_PER_NODE = 500
"""Log records shown per node: the oldest ones. A node that logs in a loop must not make a page unbounded."""

OPERATION_DETAILS = "gen_ai.client.inference.operation.details"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
"""The older conventions' per-message events, and the role each one's message has."""
CHOICE_EVENT = "gen_ai.choice"


def node_log_records(
    cursor: Any, tenant_id: str, trace_id: int, span_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """The log records of these spans of one trace, by span id, as ``log_records`` shows them."""
    if not span_ids:
        return {}
    params = {
        "tenant": tenant_id,
        "trace": trace_id_hex(trace_id),
        "ids": ",".join(str(span_id) for span_id in span_ids),
        "max": MAX_PER_NODE,
    }
    by_span: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for span_id, time_ns, severity_text, severity_number, event_name, body, attributes in cursor.execute(
        NODE_LOG_RECORDS_SQL, params
    ).fetchall():
        by_span[span_id].append(
            {
                "time": iso_utc(time_ns) if time_ns else None,
                "severity_text": severity_text,
                "severity_number": severity_number,
                "event_name": event_name,
                "body": None if body is None else orjson.loads(body),
                "attributes": orjson.loads(attributes),
            }
        )
    return by_span


def with_log_records(document: bytes, records: list[dict[str, Any]]) -> bytes:
    """A node's JSON ``document`` with its ``log_records``, and its input and output taken from them
    where it has none (see the module docstring)."""
    texts = {"input": _input_text(records), "output": _output_text(records)}
    if any(text is not None for text in texts.values()):
        node: dict[str, Any] = orjson.loads(document)
        for field, text in texts.items():
            if node.get(field) is None and text is not None:
                node[field] = truncate(text, DEFAULT_MAX_ATTRIBUTE_LENGTH)
        node["log_records"] = records
        return orjson.dumps(node)
    # One JSON object's text extended: the document without its closing brace, then the new member.
    return document[:-1] + b',"log_records":' + orjson.dumps(records) + b"}"


def _input_text(records: list[dict[str, Any]]) -> str | None:
    details = _details_attribute(records, INPUT_MESSAGES)
    if details is not None:
        return details
    messages = [_message(record["body"], MESSAGE_EVENTS[record["event_name"]])
                for record in records if record["event_name"] in MESSAGE_EVENTS]  # fmt: skip
    return orjson.dumps(messages).decode() if messages else None


def _output_text(records: list[dict[str, Any]]) -> str | None:
    details = _details_attribute(records, OUTPUT_MESSAGES)
    if details is not None:
        return details
    choices = [record["body"] for record in records if record["event_name"] == CHOICE_EVENT]
    if not choices:
        return None
    return _text(choices[0] if len(choices) == 1 else choices)


def _details_attribute(records: list[dict[str, Any]], key: str) -> str | None:
    """``key`` of the first operation-details event that has it, as text."""
    for record in records:
        if record["event_name"] == OPERATION_DETAILS and isinstance(record["attributes"], dict):
            value = record["attributes"].get(key)
            if value is not None:
                return _text(value)
    return None


def _message(body: Any, role: str) -> Any:
    """A per-message event's body as a message: its role added from the event name when it has none."""
    if isinstance(body, dict):
        return body if "role" in body else {"role": role, **body}
    return {"role": role, "content": body}


def _text(value: Any) -> str:
    """A value as a node shows it: a string as it is, anything else as its JSON text."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()
