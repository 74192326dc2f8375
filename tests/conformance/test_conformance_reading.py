"""How the checkers read a compose file (conformance.common): no engine needed, runs in .venv."""

import re

import pytest

import json

from conformance.common import Rejected, engine_argv, judge
from stack.rendered import resolve_services


def write(tmp_path, text):
    """A compose file and the JSON document the checker reads: its engine service as the
    Compose v2 loader resolves it."""
    path = tmp_path / "c.yaml"
    path.write_text(text)
    doc = tmp_path / "c.json"
    doc.write_text(json.dumps({"file": str(path), "service": resolve_services(path).get("engine")}))
    return str(doc)


def test_argv_is_entrypoint_then_command_as_compose_passes_them(tmp_path):
    path = write(tmp_path, 'services:\n  engine:\n    image: x\n    entrypoint: ["vllm", "serve"]\n'
                           '    command:\n      - "m"\n      - "--tensor-parallel-size"\n      - "8"\n')
    assert engine_argv(path) == (["vllm", "serve"], ["m", "--tensor-parallel-size", "8"])


@pytest.mark.parametrize("item, want", [
    ("plain", "plain"),
    ("cost $$5", "cost $5"),
    ("${GLM5_TEST_UNSET:-8000}", "8000"),
    ("${GLM5_TEST_UNSET-8000}", "8000"),
    ("a${GLM5_TEST_UNSET:-}b", "ab"),
])
def test_compose_resolves_interpolation_not_us(tmp_path, item, want):
    path = write(tmp_path, f'services:\n  engine:\n    image: x\n    entrypoint: ["x"]\n    command: [{json.dumps(item)}]\n')
    assert engine_argv(path)[1] == [want]


def test_argparse_exit_becomes_a_verdict_with_its_message(tmp_path):
    import argparse

    path = write(tmp_path, 'services:\n  engine:\n    image: x\n    entrypoint: ["x"]\n    command: ["--tp", "eight"]\n')

    def check(entrypoint, command, env):
        parser = argparse.ArgumentParser(prog="x")
        parser.add_argument("--tp", type=int)
        parser.parse_args(command)

    v = judge(path, check)
    assert not v["ok"]
    assert v["error"] == "exit 2: x: error: argument --tp: invalid int value: 'eight'"
    assert v["argv"] == ["x", "--tp", "eight"]


def test_no_engine_service_is_a_verdict_not_a_crash(tmp_path):
    v = judge(write(tmp_path, "services:\n  other:\n    image: x\n"), lambda e, c, env: {})
    assert not v["ok"] and "no services.engine" in v["error"]


def test_the_environment_reaches_the_check_as_compose_resolved_it(tmp_path, monkeypatch):
    monkeypatch.delenv("GLM5_TEST_UNSET", raising=False)
    path = write(tmp_path, 'services:\n  engine:\n    image: x\n    entrypoint: ["x"]\n    command: []\n'
                 '    environment:\n      A: "cost $$5"\n      GLM5_TEST_UNSET:\n')
    v = judge(path, lambda e, c, env: {"env": env})
    assert v["ok"], v
    assert v["values"]["env"] == {"A": "cost $5", "GLM5_TEST_UNSET": None}
