"""How the checkers read a compose file (conformance.common): no engine needed, runs in .venv."""

import re

import pytest

from conformance.common import Rejected, engine_argv, interpolate, judge


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return str(path)


def test_argv_is_entrypoint_then_command_as_compose_passes_them(tmp_path):
    path = write(tmp_path, 'services:\n  engine:\n    entrypoint: ["vllm", "serve"]\n'
                           '    command:\n      - "m"\n      - "--tensor-parallel-size"\n      - "8"\n')
    assert engine_argv(path) == (["vllm", "serve"], ["m", "--tensor-parallel-size", "8"])


@pytest.mark.parametrize("item, want", [
    ("plain", "plain"),
    ("cost $$5", "cost $5"),
    ("${PORT:-8000}", "8000"),
    ("${PORT-8000}", "8000"),
    ("a${X:-}b", "ab"),
])
def test_compose_interpolation_takes_defaults(item, want):
    assert interpolate(item) == want


@pytest.mark.parametrize("item", ["${MODEL}", "$MODEL"])
def test_a_variable_without_default_cannot_be_judged(item):
    with pytest.raises(Rejected, match="no default"):
        interpolate(item)


@pytest.mark.parametrize("command, message", [
    ('"m --tp 8"', "render it as a list"),
    ('["m", 8]', "command[1] is int 8, not a string"),
    ('["m", 0.85]', "command[1] is float 0.85"),
    ("null", "missing or not a list"),
])
def test_commands_compose_would_mangle_are_rejected(tmp_path, command, message):
    path = write(tmp_path, f'services:\n  engine:\n    entrypoint: ["vllm", "serve"]\n    command: {command}\n')
    with pytest.raises(Rejected, match=re.escape(message)):
        engine_argv(path)


def test_argparse_exit_becomes_a_verdict_with_its_message(tmp_path):
    import argparse

    path = write(tmp_path, 'services:\n  engine:\n    entrypoint: ["x"]\n    command: ["--tp", "eight"]\n')

    def check(entrypoint, command):
        parser = argparse.ArgumentParser(prog="x")
        parser.add_argument("--tp", type=int)
        parser.parse_args(command)

    v = judge(path, check)
    assert not v["ok"]
    assert v["error"] == "exit 2: x: error: argument --tp: invalid int value: 'eight'"
    assert v["argv"] == ["x", "--tp", "eight"]


def test_no_engine_service_is_a_verdict_not_a_crash(tmp_path):
    v = judge(write(tmp_path, "services: {}\n"), lambda e, c: {})
    assert not v["ok"] and "no services.engine" in v["error"]
