"""Cold-start time of `python generator.py --stdout`: median and spread over N fresh processes."""

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N = int(sys.argv[1]) if len(sys.argv) > 1 else 15
TARGET = 0.5  # seconds, from the generator issue


def once() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "generator.py"), "--stdout"], check=True,
                   stdout=subprocess.DEVNULL, timeout=30)
    return time.perf_counter() - start


def main():
    once()  # warm the OS file cache: "cold" here means a new interpreter, not a cold disk
    times = sorted(once() for _ in range(N))
    base = sorted(_bare() for _ in range(N))
    med = statistics.median(times)
    print(f"generator.py --stdout: median {med:.3f} s, min {times[0]:.3f}, max {times[-1]:.3f} (n={N})")
    print(f"bare `python -c pass`: median {statistics.median(base):.3f} s; "
          f"generator = {med / statistics.median(base):.1f}x a bare interpreter")
    print(f"target < {TARGET} s: {'met' if med < TARGET else 'MISSED'}")
    sys.exit(0 if med < TARGET else 1)


def _bare() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=30)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
