"""Runs the engine checkers (conformance/, inside each engine's venv) once per engine for all files.

Importing vLLM or SGLang takes 10-60 s, so every file an engine must judge (goldens, checked-in
renders, negative cases) goes to one checker process; tests then read its verdicts.
"""

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from recipe.errors import BundleError
from stack.rendered import resolve_services

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CACHE") or ROOT / ".cache")
VENVS = {"vllm": CACHE / "vllm-venv", "sglang": CACHE / "sglang-venv"}
STAMPS = {"vllm": ".vllm-env.stamp", "sglang": ".sglang-env.stamp"}
TIMEOUT_S = 900
TIMINGS: list[str] = []  # one line per engine version, printed in pytest's terminal summary (conftest.py)


def venv_of(engine: str, version: str) -> Path:
    """The venv of one engine version: scripts/engine-envs.sh's rule (the newest has the plain name)."""
    from recipe.releases import NEWEST

    return VENVS[engine] if version == NEWEST[engine].checked_with else CACHE / f"{engine}-{version}-venv"


def resolve(path: Path, out: Path) -> Path:
    """The engine service of a compose file as the Compose v2 loader resolves it, as a JSON
    document for the checker (the engine venvs have no Compose: the reading happens here, in
    the one place the bundle reads a render, stack.rendered)."""
    try:
        service = resolve_services(path).get("engine")
    except BundleError as exc:
        service = None
        out.with_suffix(".error").write_text(str(exc))
    out.write_text(json.dumps({"file": str(path), "service": service}))
    return out


def mutate(src: Path, dst: Path, edit) -> Path:
    """Write a copy of a rendered compose file after edit(engine service mapping)."""
    doc = yaml.safe_load(src.read_text())
    engine = doc["services"]["engine"]
    edit(engine)
    dst.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dst


class Checker:
    """One checker process per engine version for every file it must judge.

    start() launches it in the background, so the engines import at the same time; the
    report is read on first use. A missing venv skips (or fails) only that version's tests.
    """

    def __init__(self, engine: str, version: str, files: list[Path]):
        self.engine, self.version, self.files = engine, version, files
        self._proc = self._report = None
        self._missing = None

    def start(self) -> "Checker":
        venv = venv_of(self.engine, self.version)
        if not (venv / STAMPS[self.engine]).is_file():
            self._missing = (f"{venv} is not built (or half-built): run `make conformance` "
                             f"(or `VERSION={self.version} scripts/{self.engine}-env.sh`)")
            return self
        self._out, self._err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        self._resolved = tempfile.TemporaryDirectory(prefix=f"conformance-{self.engine}-")
        documents = [resolve(path, Path(self._resolved.name) / f"{i}.json") for i, path in enumerate(self.files)]
        self._proc = subprocess.Popen(
            [str(venv / "bin" / "python"), "-m", f"conformance.{self.engine}", *map(str, documents)],
            # Files, not pipes: the other engine's checker is not read meanwhile, and a full
            # pipe would stall it.
            cwd=ROOT, stdout=self._out, stderr=self._err,
            # No hub: nothing in a parse may reach for the network.
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
        )
        self._started = time.monotonic()
        return self

    @property
    def report(self) -> dict:
        if self._missing:
            (pytest.fail if os.environ.get("CONFORMANCE_REQUIRED") else pytest.skip)(self._missing)
        if self._report is None:
            try:
                self._proc.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                pytest.fail(f"conformance.{self.engine} took over {TIMEOUT_S} s", pytrace=False)
            self._out.seek(0), self._err.seek(0)
            out, err = self._out.read(), self._err.read()
            if self._proc.returncode != 0:
                pytest.fail(f"conformance.{self.engine} exited {self._proc.returncode}:\n{err[-4000:]}",
                            pytrace=False)
            self._report = json.loads(out)
            r = self._report
            if r["version"] != self.version:
                pytest.fail(f"{venv_of(self.engine, self.version)} holds {self.engine} {r['version']}, "
                            f"not {self.version}: rebuild it (make conformance)", pytrace=False)
            TIMINGS.append(f"{self.engine} {r['version']}: judged {len(r['results'])} files in "
                           f"{time.monotonic() - self._started:.1f} s (import {r['import_seconds']:.1f} s)")
        return self._report

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def verdict(self, path: Path) -> dict:
        by_file = {r["file"]: r for r in self.report["results"]}
        return by_file[str(path)]
