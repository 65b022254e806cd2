"""An organisation's conventions file: what it extends, and the clear error for one that cannot apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentlog.errors import ConventionsError
from agentlog.proto import conventions as c
from agentlog.proto.conventions import BUILT_IN
from agentlog.proto.conventions_file import load_conventions
from agentlog.proto.normalize import normalize

EXAMPLE = """
[columns]
user_id = ["acme.customer_id", "acme.account"]
agent_name = "acme.flow"
model = ["acme.model", "gen_ai.request.model"]
input_tokens = ["acme.usage.prompt"]

[node_types."acme.step_kind"]
model_call = "llm"
tool_call = "tool"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acme.toml"
    path.write_text(text)
    return path


def test_the_organisations_keys_go_first_and_the_built_in_ones_stay(tmp_path: Path) -> None:
    conventions = load_conventions(write(tmp_path, EXAMPLE))
    assert conventions.user_id == ("acme.customer_id", "acme.account", *c.USER_ID)
    assert conventions.agent_name == ("acme.flow", *c.AGENT_NAME)
    # A built-in key named again moves up, once.
    assert conventions.model == (
        "acme.model",
        "gen_ai.request.model",
        *(k for k in c.MODEL if k != "gen_ai.request.model"),
    )
    assert conventions.node_type_keys[0] == ("acme.step_kind", {"model_call": "llm", "tool_call": "tool"})
    assert conventions.node_type_keys[1:] == c.NODE_TYPE_KEYS
    assert conventions.session_id == c.SESSION_ID  # a column the file leaves alone
    assert conventions.source == str(tmp_path / "acme.toml")
    assert BUILT_IN.user_id == c.USER_ID  # the built-in table is not changed


def test_normalize_reads_them(tmp_path: Path) -> None:
    conventions = load_conventions(write(tmp_path, EXAMPLE))
    attributes = {
        "acme.step_kind": "MODEL_CALL",
        "acme.flow": "refund-flow",
        "acme.account": "a-1",
        "user.id": "u-1",
        "acme.model": "gpt-4o",
        "acme.usage.prompt": "1200",
        "gen_ai.usage.output_tokens": 30,
    }
    row = normalize("step", attributes, 0, "", None, 0, 1000, conventions)
    assert (row.node_type, row.agent_name, row.user_id, row.model) == ("llm", "refund-flow", "a-1", "gpt-4o")
    assert (row.input_tokens, row.output_tokens, row.cost_source) == (1200, 30, "computed")
    plain = normalize("step", attributes, 0, "", None, 0, 1000)
    assert (plain.node_type, plain.agent_name, plain.user_id, plain.model) == ("span", None, "u-1", None)


def test_a_built_in_node_type_key_can_be_given_more_values(tmp_path: Path) -> None:
    conventions = load_conventions(write(tmp_path, '[node_types."gen_ai.operation.name"]\nask = "agent"\n'))
    assert normalize("x", {"gen_ai.operation.name": "ask"}, 0, "", None, 0, 100, conventions).node_type == "agent"
    # The organisation's table replaces the built-in one of that key: its other values are no longer mapped.
    assert normalize("x", {"gen_ai.operation.name": "chat"}, 0, "", None, 0, 100, conventions).node_type == "span"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[columns]\nuser = ['acme.customer']\n", "[columns] user: not a column agentlog fills; known: agent_name,"),
        ("[columns]\nuser_id = []\n", "[columns] user_id: give a key or a list of keys, got []"),
        ("[columns]\nuser_id = [3]\n", "[columns] user_id: a key must be a non-empty string, got 3"),
        ("[columns]\nuser_id = ['  ']\n", "a key must be a non-empty string, got '  '"),
        ("[columns]\nuser_id = 'agentlog.x'\n", "'agentlog.x': keys starting with 'agentlog.' are agentlog's own"),
        ("columns = 3\n", "[columns] must be a table of column = [keys]"),
        ("[colums]\nuser_id = 'a'\n", "unknown table [colums]; it has [columns] and [node_types]"),
        ('[node_types."acme.kind"]\nstep = "model"\n', "step: 'model' is not a node type; known: agent, llm,"),
        ('[node_types]\n"acme.kind" = "llm"\n', 'must map the key\'s values to node types, e.g. model_call = "llm"'),
        (
            "[columns]\nuser_id = ['acme.id']\nsession_id = ['acme.id']\n",
            "'acme.id' is given to [columns] user_id and to [columns] session_id; give it to one",
        ),
        (
            "[columns]\nuser_id = ['acme.kind']\n[node_types.'acme.kind']\na = 'llm'\n",
            """'acme.kind' is given to [columns] user_id and to [node_types."acme.kind"]""",
        ),
        ("[columns\n", "not TOML: Expected ']'"),
    ],
)
def test_a_file_that_cannot_apply_names_itself_and_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConventionsError) as raised:
        load_conventions(path)
    assert message in raised.value.message
    assert raised.value.message.startswith(f"conventions file {path}: ")


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConventionsError, match=r"conventions file .*nowhere.toml: cannot read it \(No such file"):
        load_conventions(tmp_path / "nowhere.toml")
