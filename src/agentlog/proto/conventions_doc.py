"""docs/conventions.md, written from ``conventions``: which keys fill which column, in which order.

``python -m agentlog.proto.conventions_doc > docs/conventions.md`` rewrites it; a test checks
that the file in the repository is what this module writes, so the document cannot drift
from the table the normaliser reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from agentlog.proto import conventions as c

_INTRO = """\
# Conventions: which attribute keys agentlog reads

<!-- Written by `python -m agentlog.proto.conventions_doc > docs/conventions.md`; do not edit by hand. -->

Instrumentations name the same thing differently. For each column agentlog
stores, the keys below are tried in order and the **first present value wins**
(a value of the wrong type, such as a non-numeric token count, is passed over).
The order is the same for every column: the OpenTelemetry GenAI semantic
conventions (current names, then deprecated ones), OpenInference, OpenLLMetry
(`traceloop.*`), Langfuse, Logfire / pydantic-ai, then the Vercel AI SDK
(`ai.*`). The table is `src/agentlog/proto/conventions.py`.

Token counts follow the GenAI conventions: `input_tokens` includes cache reads
and cache writes. Cost is the sender's reported cost when there is one,
otherwise priced with [genai-prices](https://github.com/pydantic/genai-prices)
from the model and the uncached input, cache reads, cache writes and output
tokens; an unknown model has no cost (never zero). Usage on `agent` and `chain`
spans counts toward a run only when no other span of the run reports usage,
so a framework that repeats its model calls' total on the root span (the
Vercel AI SDK, pydantic-ai) is never counted twice.
"""

_COLUMNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("agent_name", c.AGENT_NAME, "the agent of a node, and of a run (its earliest span that has one)"),
    ("agent_id", c.AGENT_ID, ""),
    ("model", c.MODEL, ""),
    ("provider", c.PROVIDER, ""),
    ("input_tokens", c.INPUT_TOKENS, "cache reads and writes included"),
    ("output_tokens", c.OUTPUT_TOKENS, ""),
    ("cache_read_tokens", c.CACHE_READ_TOKENS, ""),
    ("cache_write_tokens", c.CACHE_WRITE_TOKENS, "tokens written to the provider's prompt cache"),
    ("reasoning_tokens", c.REASONING_TOKENS, ""),
    ("total_tokens", c.TOTAL_TOKENS, "else input + output"),
    ("aggregated input tokens", c.AGGREGATED_INPUT_TOKENS, "a run's usage summed on its agent span: never added"),
    ("aggregated output tokens", c.AGGREGATED_OUTPUT_TOKENS, ""),
    ("aggregated cache reads", c.AGGREGATED_CACHE_READ_TOKENS, ""),
    ("aggregated cache writes", c.AGGREGATED_CACHE_WRITE_TOKENS, ""),
    ("aggregated reasoning tokens", c.AGGREGATED_REASONING_TOKENS, ""),
    ("cost_usd (reported)", c.REPORTED_COST, f"then `{c.LANGFUSE_COST}` (total, else the sum of its parts)"),
    ("input", c.INPUT, f"then OpenLLMetry's flattened `{c.FLATTENED_INPUT_PREFIX}N.*` messages"),
    ("output", c.OUTPUT, f"then OpenLLMetry's flattened `{c.FLATTENED_OUTPUT_PREFIX}N.*` messages"),
    ("agent input (prompt)", c.AGENT_PROMPTS, "an agent span's first user message's text, before `input`"),
    ("run transcript", c.TRANSCRIPTS, "the first user message when a span has no input (pydantic-ai)"),
    ("transcript start", c.TRANSCRIPT_START, "where this run's own messages start in the transcript"),
    ("user_id", c.USER_ID, ""),
    ("session_id", c.SESSION_ID, ""),
    ("tool_name", c.TOOL_NAME, "a tool span without one: `traceloop.entity.name`, else its span name"),
    ("error_type", c.ERROR_TYPE, "only on spans whose status is ERROR; else the exception event's"),
)


def render() -> str:
    """The whole document, Markdown."""
    parts = [_INTRO, "## Columns\n", "| column | keys, first present wins | note |", "|---|---|---|"]
    parts += [f"| {name} | {_keys(keys)} | {note} |" for name, keys, note in _COLUMNS]
    parts += [
        "",
        "## Node types\n",
        "The first of these keys whose value one of its tables maps decides the node type (values match",
        "in any case). A span none of them types is typed by its shape: a tool name makes it a `tool`,",
        "a model with token counts an `llm`, a name starting `invoke_agent` (or `agent run`) an `agent`;",
        "anything else is a `span`.\n",
    ]
    for key, table in c.NODE_TYPE_KEYS:
        parts += [f"### `{key}`\n", *_mapping(table), ""]
    parts += [
        "## Usage reported as JSON\n",
        f"Langfuse's `{c.LANGFUSE_USAGE}` is read when a span has no input or output count of its own: its",
        "own disjoint buckets (`input`, `output`, `input_*`, `output_*`; cache reads from "
        f"{_keys(c.LANGFUSE_CACHE_READ_BUCKETS)}, cache writes from {_keys(c.LANGFUSE_CACHE_WRITE_BUCKETS)})",
        "or a provider's usage object passed through whole (OpenAI's `prompt_tokens_details.cached_tokens`,",
        f"Anthropic's {_keys(c.ANTHROPIC_USAGE_CACHE_WRITE)}).",
        "",
        "## Messages sent as span events\n",
        f"`{c.EVENT_INPUT}` and `{c.EVENT_OUTPUT}` in the table above stand for what the first of a span's",
        "events below carries (never stored as attributes): a span's own keys win over them.\n",
        "| event | key | lends |",
        "|---|---|---|",
        *(
            f"| `{name}` | `{key}` | {'input' if lent_as == c.EVENT_INPUT else 'output'} |"
            for name, pairs in c.MESSAGE_EVENTS.items()
            for key, lent_as in pairs
        ),
        "",
        "## Live status\n",
        f"A span with `{c.AGENTLOG_SPAN_TYPE}` = `pending` announces the span with its own ids, still running;",
        f"one with `{c.LOGFIRE_SPAN_TYPE}` = `pending_span` (Logfire) announces its parent.",
        "",
        *_YOUR_KEYS,
        "| column | its keys' values are read as |",
        "|---|---|",
        *(f"| {column} | {_KINDS[kind]} |" for column, kind in c.COLUMN_KINDS.items()),
        "",
        f"Node types: {_keys(c.NODE_TYPES)}.",
        "",
        *_RENORMALIZING,
    ]
    return "\n".join(parts)


_KINDS = {
    "string": "a non-empty string",
    "count": "a whole number >= 0 (an integer, a whole double or a decimal string)",
    "text": "any value (a string as it is, anything else as JSON)",
    "cost": "a number >= 0 in US dollars (or its decimal string)",
}

_YOUR_KEYS = """\
## Your own keys

An organisation's own instrumentation has keys of its own (`acme.customer_id`
for the user, `acme.flow` for the agent, ...). Give agentlog a TOML file and it
reads them **before** the built-in keys of the same column, at ingest, over
every transport and in every decode worker; nothing else changes:

```console
$ agentlog serve --conventions acme.toml      # or AGENTLOG_CONVENTIONS=acme.toml
```

(In embedded mode: `agentlog.configure(database="runs.duckdb", conventions="acme.toml")`.)

```toml
# Keys read before the built-in ones of the same column, in the order given.
[columns]
user_id = ["acme.customer_id", "acme.account"]
agent_name = "acme.flow"                  # one key may be given as a string
session_id = "acme.conversation"
input_tokens = ["acme.usage.prompt"]

# A key whose string value names the node type, read before the built-in ones
# (values match as written, in upper case or in lower case). Naming a built-in
# key here replaces its table.
[node_types."acme.step_kind"]
model_call = "llm"
tool_call = "tool"
```

A file that cannot apply stops `agentlog serve` before it opens anything (exit
code 2), with one line naming the file and the entry: TOML that does not parse,
a table other than `[columns]` and `[node_types]`, a column agentlog does not
fill, a key that is not a non-empty string or starts with `agentlog.`, a node
type not in the list below, or a key given to two columns (which one it means
would be a guess). The columns a file may name:
""".splitlines()

_RENORMALIZING = """\
## After the file changes

Spans stored before keep the columns the old conventions gave them. Read them
again, a dry run first:

```console
$ agentlog executions renormalize --db agentlog.duckdb --conventions acme.toml --dry-run
$ agentlog executions renormalize --db agentlog.duckdb --conventions acme.toml [--since 2026-11-01]
```

On the database file (the server stopped), `--conventions` (default
`AGENTLOG_CONVENTIONS`; none: the built-in table alone) says which file; through
a running server (`--url`, or `POST /api/v1/executions/renormalize` with
`{"since": ..., "dry_run": true}`), the server's own `--conventions` apply. Each
stored span's attributes and events are read again as at ingest; the columns
that change are rewritten and their runs' roll-ups rebuilt from all their
spans, in one transaction (it costs ~20-40 µs a span). Runs still running are
left alone: re-normalise them once they end. The answer counts the spans
checked and changed, the runs updated and, per column, the spans whose value
changed.
""".splitlines()


def _keys(keys: Iterable[str]) -> str:
    return ", ".join(f"`{key}`" for key in keys)


def _mapping(table: Mapping[str, str]) -> list[str]:
    return ["| value | node type |", "|---|---|", *(f"| `{value}` | {kind} |" for value, kind in table.items())]


if __name__ == "__main__":
    print(render(), end="")
