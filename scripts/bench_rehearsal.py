"""The rehearsal stack's overhead over the engine's own start: medians over N runs.

  stack: `python -m stack.up` on the rehearsal render (compose up -> engine healthy -> sidecar
         verdict), images already built; taken down after each run.
  bare:  the same engine arguments (read from the render) served on the host by
         `python -m vllm.entrypoints.openai.api_server`, start -> /health 200.

Needs `make rehearsal-images tiny-model` and a daemon; run under `scripts/docker.sh run`.
Usage: python scripts/bench_rehearsal.py [N]
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.e2e.server import free_port, start_vllm  # noqa: E402

CACHE = Path(os.environ.get("CACHE") or ROOT / ".cache")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 3


def stack(compose: Path) -> float:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "stack.up", "--compose-file", str(compose)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    took = time.monotonic() - start
    subprocess.run(["docker", "compose", "-f", str(compose), "--profile", "smoke", "down", "-v"],
                   capture_output=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return took


def bare(args: list[str], tmp: Path) -> float:
    with start_vllm(args, port=free_port(), hf_home=CACHE / "tiny-hf", log_path=tmp / "bare.log",
                    timeout=600) as server:
        return server.started_in


def main():
    with tempfile.TemporaryDirectory() as tmp:
        compose = ROOT / "compose" / "rehearsal-bench.yaml"
        subprocess.run([sys.executable, "generator.py", "--rehearsal", "--port", str(free_port()),
                        "--hf-cache", str(CACHE / "tiny-hf"), "--output", str(compose), "--force"],
                       cwd=ROOT, check=True, timeout=60)
        args = yaml.safe_load(compose.read_text())["services"]["engine"]["command"]
        os.environ["SMOKE_USER"] = f"{os.getuid()}:{os.getgid()}"
        stacks = [stack(compose) for _ in range(N)]
        bares = [bare(args, Path(tmp)) for _ in range(N)]
        compose.unlink()
    s, b = statistics.median(stacks), statistics.median(bares)
    print(f"stack (compose up -> sidecar verdict): median {s:.1f} s  {sorted(round(x, 1) for x in stacks)}")
    print(f"bare engine start (-> /health 200):    median {b:.1f} s  {sorted(round(x, 1) for x in bares)}")
    print(f"overhead: {s - b:+.1f} s, ratio {s / b:.2f}x")


if __name__ == "__main__":
    main()
