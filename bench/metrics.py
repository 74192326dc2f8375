"""The engine's own view of a run: its Prometheus `/metrics` read before, during and after.

The load generator measures what a client sees (tok/s, TTFT, TPOT). What only the engine knows
comes from here: how well speculative decoding is accepted, how full the KV cache got, how
often requests were preempted, how many prompt tokens the prefix cache served. Every metric
name is data in `ENGINES`, with the file of the engine's source that defines it, so a renamed
metric is a one-line change and a test fixture can be checked against the same table.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

# A GLM-5 /metrics page is ~100 KB (histograms per label set); 8 MiB means something is wrong.
MAX_BYTES = 8 * 1024 * 1024
TIMEOUT_S = 5.0


@dataclass(frozen=True)
class EngineMetrics:
    """Where one engine keeps each quantity. Names are sample names as exposed (counters with
    their `_total`). A name that is None does not exist on that engine."""

    engine: str
    prefix: str  # every metric of the engine starts with it; used to tell engines apart
    source: str  # the engine version whose source defines the names below
    requests_done: str
    generation_tokens: str
    kv_usage: str  # gauge, 0..1
    preemptions: str | None
    prefix_hits: str  # tokens served from the prefix cache
    prefix_queries: str  # tokens looked up (vLLM) or prompt tokens (SGLang)
    # Speculative decoding. vLLM: counters; acceptance length = 1 + accepted / drafts.
    spec_drafts: str | None = None
    spec_draft_tokens: str | None = None
    spec_accepted: str | None = None
    # SGLang: verify calls per finished request (a counter) and its own gauges.
    spec_verify_calls: str | None = None
    spec_accept_length_gauge: str | None = None
    spec_accept_rate_gauge: str | None = None


ENGINES = {
    # vllm 0.32.0: vllm/v1/metrics/loggers.py (kv_cache_usage_perc, prefix_cache_*,
    # num_preemptions, generation_tokens, request_success) and vllm/v1/spec_decode/metrics.py
    # (spec_decode_num_drafts / _num_draft_tokens / _num_accepted_tokens). prometheus_client
    # appends _total to counters.
    "vllm": EngineMetrics(
        engine="vllm",
        prefix="vllm:",
        source="vllm 0.32.0: vllm/v1/metrics/loggers.py, vllm/v1/spec_decode/metrics.py",
        requests_done="vllm:request_success_total",
        generation_tokens="vllm:generation_tokens_total",
        kv_usage="vllm:kv_cache_usage_perc",
        preemptions="vllm:num_preemptions_total",
        prefix_hits="vllm:prefix_cache_hits_total",
        prefix_queries="vllm:prefix_cache_queries_total",
        spec_drafts="vllm:spec_decode_num_drafts_total",
        spec_draft_tokens="vllm:spec_decode_num_draft_tokens_total",
        spec_accepted="vllm:spec_decode_num_accepted_tokens_total",
    ),
    # sglang 0.5.23: sglang/srt/observability/metrics_collector.py. SGLang counts verify calls
    # per finished request; its per-request accept length is completion_tokens / verify calls
    # (sglang/srt/managers/tokenizer_manager.py), so the run's is the ratio of the deltas.
    # Retractions are SGLang's preemptions. Metrics need --enable-metrics.
    "sglang": EngineMetrics(
        engine="sglang",
        prefix="sglang:",
        source="sglang 0.5.23: sglang/srt/observability/metrics_collector.py",
        requests_done="sglang:num_requests_total",
        generation_tokens="sglang:generation_tokens_total",
        kv_usage="sglang:token_usage",
        preemptions="sglang:num_retracted_requests_total",
        prefix_hits="sglang:cached_tokens_total",
        prefix_queries="sglang:prompt_tokens_total",
        spec_verify_calls="sglang:spec_verify_calls_total",
        spec_accept_length_gauge="sglang:spec_accept_length",
        spec_accept_rate_gauge="sglang:spec_accept_rate",
    ),
}


@dataclass
class Scrape:
    """One read of /metrics: sample name -> values (one per label set), or why there is none."""

    at: float
    samples: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None

    def total(self, name: str | None) -> float | None:
        """Sum over label sets (engines, ranks, finish reasons); None when absent."""
        if name is None or name not in self.samples:
            return None
        return sum(self.samples[name])

    def peak(self, name: str | None) -> float | None:
        if name is None or not self.samples.get(name):
            return None
        return max(self.samples[name])


def parse(text: str, at: float = 0.0) -> Scrape:
    """Prometheus text exposition -> Scrape. A page that does not parse is an error, not a crash."""
    scrape = Scrape(at=at)
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                scrape.samples.setdefault(sample.name, []).append(float(sample.value))
    except (ValueError, TypeError, IndexError) as err:
        return Scrape(at=at, error=f"/metrics did not parse as Prometheus text: {err}")
    return scrape


def fetch(url: str, *, timeout_s: float = TIMEOUT_S, max_bytes: int = MAX_BYTES,
          api_key: str | None = None) -> Scrape:
    """GET url (the engine's /metrics), bounded in time and size; never raises."""
    at = time.time()
    request = urllib.request.Request(url, headers={"User-Agent": "glm5-bench/1"})
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            body = resp.read(max_bytes + 1)
    except urllib.error.HTTPError as err:
        return Scrape(at=at, error=f"GET {url}: HTTP {err.code}")
    except TimeoutError:
        return Scrape(at=at, error=f"GET {url}: no answer within {timeout_s:g} s (time bound)")
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        if isinstance(reason, TimeoutError):
            return Scrape(at=at, error=f"GET {url}: no answer within {timeout_s:g} s (time bound)")
        return Scrape(at=at, error=f"GET {url}: {reason}")
    if len(body) > max_bytes:
        return Scrape(at=at, error=f"GET {url}: larger than {max_bytes} bytes (size bound)")
    return parse(body.decode("utf-8", errors="replace"), at=at)


def detect(scrape: Scrape) -> EngineMetrics | None:
    """The engine whose metrics the page holds (vLLM and SGLang prefix every name)."""
    for spec in ENGINES.values():
        if any(name.startswith(spec.prefix) for name in scrape.samples):
            return spec
    return None


def _delta(before: Scrape, after: Scrape, name: str | None) -> float | None:
    b, a = before.total(name), after.total(name)
    if a is None:
        return None
    # A counter that appears only after the run (a labelled child created on first use, as
    # SGLang's are) started from zero.
    b = 0.0 if b is None else b
    return a - b if a >= b else None  # a reset (engine restarted) gives no delta


def _ratio(num: float | None, den: float | None) -> float | None:
    return num / den if num is not None and den else None


@dataclass
class Window:
    """The engine's counters over one run (one workload at one concurrency)."""

    engine: str | None
    requests: float | None = None
    generation_tokens: float | None = None
    spec: str = "unknown"  # "on", "off" or "unknown" (no such metrics on this engine/build)
    acceptance_length: float | None = None
    acceptance_rate: float | None = None
    acceptance_from: str | None = None  # which metrics gave the numbers above
    kv_usage_peak: float | None = None
    preemptions: float | None = None
    prefix_cache_hit_rate: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)


def window(before: Scrape, after: Scrape, during: list[Scrape] = ()) -> Window:
    """What the engine did between two scrapes; `during` adds samples for the KV-cache peak."""
    errors = [s.error for s in (before, after) if s.error]
    if errors:
        return Window(engine=None, notes=errors)
    spec = detect(after) or detect(before)
    if spec is None:
        return Window(engine=None, notes=["no vLLM or SGLang metrics on this server"])
    w = Window(engine=spec.engine)
    w.requests = _delta(before, after, spec.requests_done)
    w.generation_tokens = _delta(before, after, spec.generation_tokens)
    peaks = [s.peak(spec.kv_usage) for s in (before, *during, after) if not s.error]
    peaks = [p for p in peaks if p is not None]
    w.kv_usage_peak = max(peaks) if peaks else None
    w.preemptions = _delta(before, after, spec.preemptions)
    w.prefix_cache_hit_rate = _ratio(_delta(before, after, spec.prefix_hits),
                                     _delta(before, after, spec.prefix_queries))
    if w.prefix_cache_hit_rate is None and after.total(spec.prefix_queries) is not None:
        # SGLang exposes no cached-token series until the first hit: no hits yet is 0.
        queries = _delta(before, after, spec.prefix_queries)
        if queries and spec.prefix_hits not in after.samples:
            w.prefix_cache_hit_rate = 0.0
    _acceptance(spec, before, after, w)
    return w


def _acceptance(spec: EngineMetrics, before: Scrape, after: Scrape, w: Window) -> None:
    if spec.spec_drafts:  # vLLM: counters exist only when speculation is configured
        drafts = _delta(before, after, spec.spec_drafts)
        if drafts is None:
            w.spec = "off"
            return
        w.spec = "on"
        if not drafts:
            w.notes.append("speculative decoding is on but no drafts were made in this run")
            return
        accepted = _delta(before, after, spec.spec_accepted)
        w.acceptance_length = 1 + accepted / drafts if accepted is not None else None
        w.acceptance_rate = _ratio(accepted, _delta(before, after, spec.spec_draft_tokens))
        w.acceptance_from = (f"1 + d({spec.spec_accepted}) / d({spec.spec_drafts}); "
                             f"d({spec.spec_accepted}) / d({spec.spec_draft_tokens})")
        return
    # SGLang: the verify-call counter moves only with speculation; the gauges are the last
    # logging interval's means (0 when speculation is off or idle).
    calls = _delta(before, after, spec.spec_verify_calls)
    gauge = after.peak(spec.spec_accept_length_gauge)
    if calls:
        w.spec = "on"
        w.acceptance_length = _ratio(w.generation_tokens, calls)
        w.acceptance_from = f"d({spec.generation_tokens}) / d({spec.spec_verify_calls})"
    elif gauge:
        w.spec = "on"
        w.acceptance_length = gauge
        w.acceptance_from = f"{spec.spec_accept_length_gauge} (last interval)"
    elif calls == 0 or gauge == 0 or spec.spec_accept_length_gauge in after.samples:
        w.spec = "off"
        return
    else:
        return
    rate = after.peak(spec.spec_accept_rate_gauge)
    w.acceptance_rate = rate if rate else None
