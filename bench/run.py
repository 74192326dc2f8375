"""One benchmark: for each workload and concurrency, read /metrics, run AIPerf, read /metrics.

While a level runs, a sampler reads /metrics every few seconds: the KV-cache peak is a
maximum over time, and the engine's finished-request counter drives the progress bar.
"""

from __future__ import annotations

import resource
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from . import aiperf, metrics
from .progress import Bar
from .workloads import Workload


@dataclass(frozen=True)
class Config:
    base_url: str  # the server root (no /v1)
    model: str
    tokenizer: str
    metrics_url: str | None  # None: do not read /metrics
    artifacts: Path
    tokenizer_offline: bool = True
    sample_interval_s: float = 2.0
    level_timeout_s: float = 3600.0
    request_timeout_s: float = 1800.0


@dataclass
class LevelResult:
    workload: str
    concurrency: int
    requests: int
    client: dict | None = None  # AIPerf's numbers (bench.aiperf.read_summary)
    engine: dict | None = None  # the engine's window (bench.metrics.Window)
    client_cpu_s: float | None = None  # user + system CPU of the AIPerf processes
    wall_s: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return (self.error is None and self.client is not None
                and self.client["completed"] >= 1 and self.client["errors"] == 0)

    def to_json(self) -> dict:
        return dict(self.__dict__, ok=self.ok)


@dataclass
class _Sampler:
    """Reads /metrics every interval on a thread; keeps only what the window needs."""

    url: str
    interval_s: float
    keep: tuple[str, ...] = ()
    scrapes: list[metrics.Scrape] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self, on_scrape) -> None:
        def loop():
            while not self._stop.wait(self.interval_s):
                s = metrics.fetch(self.url)
                if self.keep and not s.error:
                    s.samples = {k: v for k, v in s.samples.items() if k in self.keep}
                self.scrapes.append(s)
                on_scrape(s)

        self._thread = threading.Thread(target=loop, name="metrics-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(metrics.TIMEOUT_S + 1)


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_level(cfg: Config, workload: Workload, concurrency: int, requests: int,
              out: TextIO) -> LevelResult:
    result = LevelResult(workload.name, concurrency, requests)
    label = f"[bench] {workload.name} conc {concurrency}"
    bar = Bar(label, requests, out)
    before = metrics.fetch(cfg.metrics_url) if cfg.metrics_url else None
    engine = metrics.detect(before) if before else None
    sampler = None
    if cfg.metrics_url and engine:
        sampler = _Sampler(cfg.metrics_url, cfg.sample_interval_s,
                           keep=(engine.kv_usage, engine.requests_done))
    t0 = time.monotonic()
    start_done = before.total(engine.requests_done) if engine else None

    def on_scrape(s: metrics.Scrape) -> None:
        now = s.total(engine.requests_done)
        done = None if now is None or start_done is None else now - start_done
        bar.update(done, time.monotonic() - t0)

    bar.update(0 if engine else None, 0)
    if sampler:
        sampler.start(on_scrape)
    artifact_dir = cfg.artifacts / f"{workload.name}-c{concurrency}"
    artifact_dir.mkdir(parents=True, exist_ok=True)
    cmd = aiperf.argv(aiperf.Level(workload, concurrency, requests), url=cfg.base_url,
                      model=cfg.model, tokenizer=cfg.tokenizer, artifact_dir=artifact_dir,
                      request_timeout_s=cfg.request_timeout_s)
    cpu0 = _children_cpu()
    try:
        error = aiperf.run(cmd, log_path=artifact_dir / "aiperf.log",
                           timeout_s=cfg.level_timeout_s,
                           env=aiperf.environment(cfg.tokenizer_offline))
    finally:
        if sampler:
            sampler.stop()
    result.client_cpu_s = round(_children_cpu() - cpu0, 3)
    result.wall_s = round(time.monotonic() - t0, 2)
    after = metrics.fetch(cfg.metrics_url) if cfg.metrics_url else None
    if error is None:
        result.client, error = aiperf.read_summary(artifact_dir)
    result.error = error
    if before is not None and after is not None:
        result.engine = metrics.window(before, after, sampler.scrapes if sampler else []).to_json()
    bar.finish(summary_line(result))
    return result


def summary_line(r: LevelResult) -> str:
    if r.client is None:
        return f"FAILED: {r.error}"
    c = r.client
    parts = [f"{c['completed']:.0f} ok", f"{c['errors']} errors"]
    if c["output_tok_s"] is not None:
        parts.append(f"{c['output_tok_s']:.1f} tok/s")
    if c["tpot_ms"]["p50"] is not None:
        parts.append(f"TPOT p50 {c['tpot_ms']['p50']:.1f} ms")
    e = r.engine or {}
    if e.get("acceptance_length") is not None:
        parts.append(f"acceptance length {e['acceptance_length']:.2f}")
    return ", ".join(parts) + (f"; {r.error}" if r.error else "")
