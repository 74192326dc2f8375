"""Runs the engine checkers (conformance/, inside each engine's venv) once per engine for all files.

Importing vLLM or SGLang takes 10-60 s, so every file an engine must judge (goldens, checked-in
renders, negative cases) goes to one checker process; tests then read its verdicts.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CACHE") or ROOT / ".cache")
VENVS = {"vllm": CACHE / "vllm-venv", "sglang": CACHE / "sglang-venv"}
STAMPS = {"vllm": ".vllm-env.stamp", "sglang": ".sglang-env.stamp"}
BUILD = {"vllm": "make vllm-env", "sglang": "make sglang-env"}
TIMEOUT_S = 900


def engine_python(engine: str) -> Path:
    """The engine venv's python; skips (or, under `make conformance`, fails) when it is not built."""
    venv = VENVS[engine]
    if not (venv / STAMPS[engine]).is_file():
        msg = f"{venv} is not built (or half-built): run `{BUILD[engine]}` or `make conformance`"
        if os.environ.get("CONFORMANCE_REQUIRED"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return venv / "bin" / "python"


def mutate(src: Path, dst: Path, edit) -> Path:
    """Write a copy of a rendered compose file whose engine command went through edit(list)."""
    doc = yaml.safe_load(src.read_text())
    engine = doc["services"]["engine"]
    edit(engine)
    dst.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dst


class Checker:
    """One checker process per engine, started on first use, for every file registered before."""

    def __init__(self, engine: str, files: list[Path]):
        self.engine, self.files, self._report = engine, files, None

    @property
    def report(self) -> dict:
        if self._report is None:
            python = engine_python(self.engine)
            proc = subprocess.run(
                [str(python), "-m", f"conformance.{self.engine}", *map(str, self.files)],
                cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S,
                # No hub: nothing in a parse may reach for the network.
                env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                     "PYTHONPATH": str(ROOT)},
            )
            if proc.returncode != 0:
                pytest.fail(f"conformance.{self.engine} exited {proc.returncode}:\n{proc.stderr[-4000:]}",
                            pytrace=False)
            self._report = json.loads(proc.stdout)
            r = self._report
            print(f"\n{self.engine} {r['version']}: import {r['import_seconds']} s, "
                  f"{len(r['results'])} files", file=sys.stderr)
        return self._report

    def verdict(self, path: Path) -> dict:
        by_file = {r["file"]: r for r in self.report["results"]}
        return by_file[str(path)]
