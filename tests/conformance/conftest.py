import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Found whatever pytest's import mode: the repo (recipe/) and this folder's engine_runs module.
for p in (str(HERE.parent.parent), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)


def pytest_terminal_summary(terminalreporter):
    from engine_runs import TIMINGS

    for line in TIMINGS:
        terminalreporter.write_line(f"conformance: {line}")
