"""On the live rehearsal stack (scripts/rehearse-bench.sh starts it and runs `make bench`): the
bench report is real, and the monitoring profile's Prometheus scrapes the real engine and
evaluates the recording rules. scripts/rehearse-nodes.sh runs the report's tests on the bench
it ran from the two-host head (no monitoring there).

BENCH_REPORT: the JSON `make bench` just wrote; BENCH_URL: the engine it should have measured
(optional); PROMETHEUS_URL: Prometheus's published port (its tests skip without it).
"""

import json
import os
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(not os.environ.get("BENCH_REPORT"), reason="make rehearse-bench and rehearse-nodes run these"),
]
needs_prometheus = pytest.mark.skipif(not os.environ.get("PROMETHEUS_URL"), reason="make rehearse-bench runs these")


@pytest.fixture(scope="module")
def report() -> tuple[Path, dict]:
    path = Path(os.environ["BENCH_REPORT"])
    return path, json.loads(path.read_text())


def test_the_report_holds_real_numbers_for_every_level(report):
    path, doc = report
    assert doc["ok"] is True and doc["engine"] == "vllm"
    assert [lvl["concurrency"] for lvl in doc["levels"]] == [1, 4]
    for lvl in doc["levels"]:
        client, engine = lvl["client"], lvl["engine"]
        assert client["completed"] == lvl["requests"] and client["errors"] == 0
        assert client["output_tok_s"] > 0 and client["ttft_ms"]["p50"] > 0
        # The CPU engine may stream a 32-token answer in one chunk: TPOT can be 0, never absent.
        assert client["tpot_ms"]["p50"] is not None and client["tpot_ms"]["p50"] >= 0
        # ignore_eos held the answers to the workload's 32 tokens (AIPerf counts them with the
        # client's tokenizer, which may merge a few).
        assert 24 <= client["output_tokens_avg"] <= 32
        assert client["input_tokens_avg"] == 128
        # The engine's own counters saw the same requests (plus AIPerf's warm-up, if any).
        assert engine["requests"] >= lvl["requests"]
        assert engine["spec"] == "off"  # the rehearsal renders no speculative decoding
        assert engine["kv_usage_peak"] is not None and engine["preemptions"] == 0
    assert doc["client_cpu_ms_per_request"] > 0
    assert doc["tokenizer"] == "glm5-compose/tiny-glm5"  # from /v1/models, read offline
    if os.environ.get("BENCH_URL"):  # the two-host head's engine, at its address on the network
        assert doc["base_url"] == os.environ["BENCH_URL"]


def test_the_table_and_the_plot_are_written(report):
    path, doc = report
    md = path.with_suffix(".md").read_text()
    assert "| rehearsal | 1 |" in md and "| rehearsal | 4 |" in md
    png = path.with_suffix(".png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def query(expr: str) -> list[dict]:
    url = os.environ["PROMETHEUS_URL"] + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.loads(resp.read(1_000_000))
    assert body["status"] == "success", body
    return body["data"]["result"]


def eventually(expr: str, deadline_s: float = 90) -> list[dict]:
    """The rules need two scrapes in their window and an evaluation: wait for a result."""
    end = time.monotonic() + deadline_s
    while True:
        result = query(expr)
        if result or time.monotonic() > end:
            return result
        time.sleep(3)


@needs_prometheus
def test_prometheus_scrapes_the_engine():
    (up,) = eventually('up{job="engine"}')
    assert up["value"][1] == "1"
    tokens = eventually("vllm:generation_tokens_total")
    assert tokens and float(tokens[0]["value"][1]) > 0  # the bench's tokens
    assert eventually("vllm:kv_cache_usage_perc")


@needs_prometheus
def test_the_recording_rules_have_results():
    kv = eventually('glm5:kv_cache_usage:ratio_max{engine="vllm"}')
    assert kv and 0 <= float(kv[0]["value"][1]) <= 1
    assert eventually('glm5:output_tokens_per_second:rate1m{engine="vllm"}')
    # No speculative decoding in the rehearsal: the acceptance rules record nothing for vLLM.
    assert query('glm5:spec_acceptance_length:ratio{engine="vllm"}') == []
    url = os.environ["PROMETHEUS_URL"] + "/api/v1/rules"
    with urllib.request.urlopen(url, timeout=10) as resp:
        groups = json.loads(resp.read(1_000_000))["data"]["groups"]
    (group,) = [g for g in groups if g["name"] == "glm5-serving"]
    assert all(r["health"] == "ok" for r in group["rules"]), [r for r in group["rules"] if r["health"] != "ok"]
