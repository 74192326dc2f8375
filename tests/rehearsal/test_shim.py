"""The engine image's `vllm` shim: `vllm serve MODEL ARGS...` -> vLLM's own command line.

No Docker: the shim runs here with VLLM_PYTHON pointing at a stand-in that prints its
argv and PID (the PID proves `exec`, so signals from `docker stop` reach the server).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SHIM = Path(__file__).resolve().parents[2] / "rehearsal" / "vllm"


@pytest.fixture
def run_shim(tmp_path):
    fake = tmp_path / "python"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "print(json.dumps({'argv': sys.argv[1:], 'pid': os.getpid()}))\n"
    )
    fake.chmod(0o755)

    def run(*args: str):
        proc = subprocess.Popen(
            ["sh", str(SHIM), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "VLLM_PYTHON": str(fake)},
        )
        out, err = proc.communicate(timeout=30)
        return proc.returncode, out, err, proc.pid

    return run


def test_serve_reaches_vllms_own_command_line(run_shim):
    code, out, _, pid = run_shim(
        "serve", "glm5-compose/tiny-glm5", "--tool-call-parser", "glm47",
        "--speculative-config", '{"method": "mtp", "num_speculative_tokens": 1}',
    )
    assert code == 0
    got = json.loads(out)
    assert got["argv"] == [
        "/opt/vllm/bin/vllm_cli.py", "serve", "glm5-compose/tiny-glm5",
        "--tool-call-parser", "glm47",
        "--speculative-config", '{"method": "mtp", "num_speculative_tokens": 1}',
    ]
    assert got["pid"] == pid  # exec: the server replaces the shim


def test_a_worker_hosts_headless_passes_through(run_shim):
    code, out, _, _ = run_shim("serve", "m", "--nnodes", "2", "--node-rank", "1", "--headless")
    assert code == 0
    assert json.loads(out)["argv"][1:] == ["serve", "m", "--nnodes", "2", "--node-rank", "1", "--headless"]


@pytest.mark.parametrize("args", [(), ("bench", "latency"), ("--help",)])
def test_other_commands_are_refused(run_shim, args):
    code, out, err, _ = run_shim(*args)
    assert code == 2
    assert out == ""
    assert "only 'vllm serve MODEL" in err
