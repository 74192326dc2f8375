"""The make targets treat the rendered file's path as data: a path read from .last-render (or
given as COMPOSE_FILE) reaches each tool as one argument, and nothing in it runs as a command.

The real Makefile and mk/*.mk run in a copy of the repo's make files, with the venv's python and
`docker` replaced by recorders of their argv: the shell that make starts is the real one.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each would run a command (touch the marker) or split into words if expanded unquoted.
HOSTILE = [
    "/srv/my renders/glm 5.yaml",
    "/srv/a;touch {marker};#.yaml",
    "/srv/$(touch {marker}).yaml",
    "/srv/`touch {marker}`.yaml",
    "/srv/a' \"b\" && touch {marker} || '.yaml",
    "/srv/${{HOME}}/*.yaml",
]
# Every target that acts on the rendered file, and the tool (argv[0] as recorded) it calls.
TARGETS = {
    "preflight": ["python", "-m", "stack.preflight", "--compose-file"],
    "download": ["python", "-m", "stack.download", "--compose-file"],
    "up": ["python", "-m", "stack.up", "--compose-file"],
    "down": ["docker", "compose", "-f"],
    "logs": ["docker", "compose", "-f"],
    "smoke": ["docker", "compose", "-f"],
}


@pytest.fixture
def makedir(tmp_path):
    """A copy of the make files with recorders in place of .venv/bin/python and docker."""
    work = tmp_path / "repo"
    (work / "mk").mkdir(parents=True)
    (work / "smoke").mkdir()
    shutil.copy(ROOT / "Makefile", work)
    for mk in (ROOT / "mk").glob("*.mk"):
        shutil.copy(mk, work / "mk")
    for req in ("requirements.txt", "requirements-dev.txt", "smoke/requirements.txt"):
        shutil.copy(ROOT / req, work / req)
    log = tmp_path / "argv.jsonl"
    recorder = (f"#!/bin/sh\nexec {sys.executable} -c 'import json, os, sys; "
                f"open(os.environ[\"ARGV_LOG\"], \"a\").write(json.dumps(sys.argv[1:]) + \"\\n\")' \"$0\" \"$@\"\n")
    bin_dir = tmp_path / "bin"
    for fake in (work / ".venv" / "bin" / "python", bin_dir / "docker"):
        fake.parent.mkdir(parents=True, exist_ok=True)
        fake.write_text(recorder)
        fake.chmod(0o755)
    (work / ".venv" / ".stamp").touch()  # newer than the requirements: make builds no venv
    return work, log, bin_dir


def run_make(makedir, target, *args, env=None):
    work, log, bin_dir = makedir
    log.unlink(missing_ok=True)
    environ = {k: v for k, v in os.environ.items() if k != "COMPOSE_FILE"}
    environ.update(PATH=f"{bin_dir}:{environ['PATH']}", ARGV_LOG=str(log), **(env or {}))
    done = subprocess.run(["make", "--no-print-directory", target, *args], cwd=work, env=environ,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(calls) == 1, calls
    return [Path(calls[0][0]).name, *calls[0][1:]]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("template", HOSTILE)
def test_a_path_from_last_render_is_one_argument_and_runs_nothing(makedir, target, template, tmp_path):
    marker = tmp_path / "ran"
    path = template.format(marker=marker)
    (makedir[0] / ".last-render").write_text(f"{path}\n")
    argv = run_make(makedir, target)
    prefix = TARGETS[target]
    assert argv[:len(prefix)] == prefix
    assert argv[len(prefix)] == path
    assert not marker.exists()


@pytest.mark.parametrize("target", ["preflight", "down"])
def test_compose_file_given_to_make_is_one_argument(makedir, target, tmp_path):
    marker = tmp_path / "ran"
    path = f"/srv/x y;touch {marker}.yaml"
    (makedir[0] / ".last-render").write_text("/srv/ignored.yaml\n")
    argv = run_make(makedir, target, f"COMPOSE_FILE={path}")
    assert argv[len(TARGETS[target])] == path
    assert not marker.exists()


@pytest.mark.parametrize("last_render", [None, "", "\n"])
def test_without_a_recorded_render_targets_act_on_the_vllm_default(makedir, last_render):
    if last_render is not None:
        (makedir[0] / ".last-render").write_text(last_render)
    argv = run_make(makedir, "preflight")
    assert argv[-1] == "compose/vllm.yaml"
