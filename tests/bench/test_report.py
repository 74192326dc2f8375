"""AIPerf's summary read back, the table, the "yours / published" lines and the plot.

aiperf-0.13.0-summary.json is AIPerf 0.13.0's own summary of a real run (rehearsal workload,
concurrency 4, against the vLLM CPU server with the tiny model)."""

import json
import shutil
from pathlib import Path

import pytest

from bench import aiperf, report
from bench.run import LevelResult
from bench.workloads import ANCHORS, WORKLOADS, anchors_for

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def summary_dir(tmp_path):
    shutil.copy(FIXTURES / "aiperf-0.13.0-summary.json", tmp_path / aiperf.SUMMARY)
    return tmp_path


def test_read_summary_keeps_the_reported_numbers(summary_dir):
    raw = json.loads((summary_dir / aiperf.SUMMARY).read_text())
    s, err = aiperf.read_summary(summary_dir)
    assert err is None
    assert s["completed"] == 12 and s["errors"] == 0
    assert s["output_tok_s"] == pytest.approx(raw["output_token_throughput"]["avg"])
    assert s["tpot_ms"]["p50"] == pytest.approx(raw["inter_token_latency"]["p50"])
    assert s["ttft_ms"]["p90"] == pytest.approx(raw["time_to_first_token"]["p90"])
    assert s["aiperf_version"] == "0.13.0"


def test_read_summary_errors_are_one_line(tmp_path):
    assert aiperf.read_summary(tmp_path)[1].startswith("no AIPerf summary at ")
    (tmp_path / aiperf.SUMMARY).write_text("[1]")
    assert aiperf.read_summary(tmp_path)[1].endswith("is not an AIPerf summary (top level is not an object)")
    (tmp_path / aiperf.SUMMARY).write_text("{")
    assert "is not JSON" in aiperf.read_summary(tmp_path)[1]


def level(workload, conc, tok_s, tpot, accept=None, completed=8):
    client = {"completed": completed, "errors": 0, "output_tok_s": tok_s, "request_s": 1.0,
              "ttft_ms": {"avg": 300.0, "p50": 290.0, "p90": 400.0, "p99": 500.0},
              "tpot_ms": {"avg": tpot, "p50": tpot, "p90": tpot * 1.2, "p99": tpot * 1.5},
              "aiperf_version": "0.13.0", "duration_s": 10.0, "error_kinds": [],
              "input_tokens_avg": 1024, "output_tokens_avg": 1024}
    engine = {"engine": "sglang", "acceptance_length": accept, "acceptance_rate": None,
              "kv_usage_peak": 0.5, "preemptions": 0, "prefix_cache_hit_rate": 0.1}
    return LevelResult(workload, conc, completed, client=client, engine=engine, client_cpu_s=0.8)


def test_comparison_lines_only_for_the_same_engine_and_hardware():
    results = [level("chat-1k1k", 1, 95.0, 8.1, 3.30), level("chat-1k1k", 16, 600.0, 20.0, 3.4)]
    lines = report.compare(results, "sglang", "8xH200")
    assert lines[0] == (
        "chat-1k1k conc 1 on 8xH200 sglang: yours / published: 95.0 / 118 tok/s (0.81x), "
        "TPOT 8.1 / 7.5 ms, acceptance length 3.30 / 3.48 "
        "[sgl-project/sgl-cookbook docs/autoregressive/GLM/GLM-5.md, section 5.1 (7b5bd9c)]")
    assert lines[1] == ("chat-1k1k conc 100 on 8xH200 sglang: not measured at conc 100 "
                        "(add it to --concurrency); published 1215 tok/s")
    assert report.compare(results, "vllm", "8xH200") == []
    assert report.compare(results, "sglang", "8xH100") == []
    assert report.compare(results, "sglang", None) == []


def test_every_anchor_names_a_known_workload_and_a_source():
    for a in ANCHORS:
        assert a.workload in WORKLOADS and a.source and a.output_tok_s > 0
    assert [a.concurrency for a in anchors_for("long-8k1k", "vllm", "8xH200")] == [32]


def test_the_table_has_one_row_per_level():
    results = [level("chat-1k1k", 1, 95.0, 8.1, 3.3),
               LevelResult("chat-1k1k", 4, 8, error="aiperf exited 1: boom")]
    table = report.markdown_table(results).splitlines()
    assert len(table) == 4
    assert table[2] == ("| chat-1k1k | 1 | 8/0 | 95.0 | 290.0 | 8.10 | 9.72 | 3.30 | - | 50% | 0 "
                        "| 10% | 100 |")
    assert table[3].startswith("| chat-1k1k | 4 | FAILED | - |")
    assert results[0].ok and not results[1].ok


def test_document_is_not_ok_when_a_level_failed():
    doc = report.document(meta={}, engine="sglang", hardware="8xH200",
                          results=[level("chat-1k1k", 1, 95.0, 8.1),
                                   LevelResult("chat-1k1k", 4, 8, error="x")])
    assert doc["ok"] is False
    assert {a["concurrency"] for a in doc["anchors"]} == {1, 100}


def test_plot_draws_a_png_with_the_anchors(tmp_path):
    pytest.importorskip("matplotlib")  # in the bench venv (make test-bench), not in .venv
    from bench.plot import plot

    path = tmp_path / "p.png"
    results = [level("chat-1k1k", c, t, l) for c, t, l in ((1, 95, 8.1), (16, 600, 20), (100, 1100, 40))]
    plot(path, results, anchors_for("chat-1k1k", "sglang", "8xH200"), "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000
