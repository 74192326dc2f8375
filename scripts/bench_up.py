"""How fast `make up` (python -m stack.up) reacts, on a real Docker daemon: medians over N runs.

  fatal:   from the moment the engine logs a CUDA OOM line (its Docker log timestamp) to the
           moment `stack.up` has exited non-zero. Target: under 10 s.
  healthy: from the engine's first passing healthcheck (Docker's own record of it) to the
           moment `stack.up --no-smoke` has exited 0. Target: under 5 s.

Needs a daemon (scripts/docker.sh up; run under `scripts/docker.sh run`) and the local image
glm5-compose/base:bookworm. Usage: python scripts/bench_up.py [N]
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "glm5-compose/base:bookworm"
sys.path.insert(0, str(ROOT))
from recipe.goldens import MATRIX  # noqa: E402

PROFILE = MATRIX["vllm-default"].to_dict()
N = int(sys.argv[1]) if len(sys.argv) > 1 else 5
OOM = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.74 GiB. GPU 4 has a total capacity of 139.81 GiB"
LOADING = "Loading safetensors checkpoint shards:  50% Completed | 70/141 [00:03<00:03, 21.10it/s]"

FATAL = f"""
import time
print({LOADING!r}, flush=True)
time.sleep(3)
print({OOM!r}, flush=True)
time.sleep(600)
"""
HEALTHY = f"""
import pathlib, time
print({LOADING!r}, flush=True)
time.sleep(3)
pathlib.Path('/tmp/ready').touch()
time.sleep(600)
"""


def stamp(text: str) -> float:
    """Docker's RFC 3339 timestamps (nanoseconds) -> epoch seconds."""
    text = text.strip().replace("Z", "+00:00")
    head, _, frac = text.partition(".")
    frac, _, zone = frac.partition("+")
    return datetime.fromisoformat(f"{head}.{frac[:6]}+{zone or '00:00'}").timestamp()


def compose(path, *args, timeout=120):
    return subprocess.run(["docker", "compose", "-f", str(path), *args], capture_output=True,
                          text=True, timeout=timeout)


def once(kind: str, folder: Path) -> float:
    engine = {"image": IMAGE, "entrypoint": ["python3", "-u", "-c", FATAL if kind == "fatal" else HEALTHY],
              "stop_grace_period": "1s", "restart": "no"}
    if kind == "healthy":
        engine["healthcheck"] = {"test": ["CMD", "test", "-f", "/tmp/ready"], "interval": "1s",
                                 "start_period": "60s"}
    path = folder / f"{kind}.yaml"
    path.write_text(json.dumps({"name": f"glm5-bench-{uuid.uuid4().hex[:8]}", "x-profile": PROFILE,
                                "services": {"engine": engine}}))
    try:
        done = subprocess.run([sys.executable, "-m", "stack.up", "--compose-file", str(path), "--no-smoke"], cwd=ROOT, capture_output=True, text=True, timeout=180)
        exited = time.time()
        if kind == "fatal":
            assert done.returncode == 10, done.stdout + done.stderr
            logs = compose(path, "logs", "-t", "--no-log-prefix", "engine").stdout.splitlines()
            line = next(l for l in logs if "CUDA out of memory" in l)
            return exited - stamp(line.split()[0])
        assert done.returncode == 0, done.stdout + done.stderr
        cid = compose(path, "ps", "-q", "engine").stdout.strip()
        health = json.loads(subprocess.run(["docker", "inspect", cid], capture_output=True, text=True,
                                           timeout=60).stdout)[0]["State"]["Health"]["Log"]
        first_pass = min(stamp(h["End"]) for h in health if h["ExitCode"] == 0)
        return exited - first_pass
    finally:
        compose(path, "down", "-t", "0")


def main():
    targets = {"fatal": 10.0, "healthy": 5.0}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for kind, target in targets.items():
            times = sorted(once(kind, Path(tmp)) for _ in range(N))
            med = statistics.median(times)
            ok &= med < target
            print(f"{kind:8} median {med:.2f} s  (min {times[0]:.2f}, max {times[-1]:.2f}, n={N}); "
                  f"target < {target:g} s: {'met' if med < target else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
