"""The spec-decode check on recorded /metrics texts of both engines (tests/smoke/fixtures/,
README there says where each name comes from), as a pure function and through the CLI."""

from pathlib import Path

import pytest
from smoke import hints, spec
from smoke.client import Exchange, Kind

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def prom(name: str) -> str:
    return (FIXTURES / f"{name}.prom").read_text()


def metrics(text: str | None, kind: Kind = Kind.OK, status: int = 200) -> Exchange:
    return Exchange("GET", "/metrics", kind=kind, status=status, body=text, detail="" if kind is Kind.OK else "x")


def judge(method: str, after: str, before: str | None = None):
    ex = {"metrics-after": metrics(prom(after))}
    if before is not None:
        ex["metrics-before"] = metrics(prom(before))
    return spec.judge(method, ex)


def test_healthy_vllm_mtp_counts_only_this_run():
    r = judge("mtp", "vllm-mtp-healthy-1", "vllm-mtp-healthy-0")
    assert r.status.value == "PASS", r
    assert r.detail == ("acceptance length 1.95 (1140 accepted in 1200 drafts this run, 1 tokens per draft); "
                        "mtp floor 1.3")


def test_collapsed_vllm_mtp_fails_naming_the_known_regressions():
    r = judge("mtp", "vllm-mtp-collapsed-1", "vllm-mtp-collapsed-0")
    assert r.status.value == "FAIL", r
    assert r.detail.startswith("acceptance length 1.00 (3 accepted in 700 drafts this run")
    assert r.hint == hints.SPEC_COLLAPSED
    for bug in ("vllm#34385", "PR #45895", "vllm#52833", "--speculative off"):
        assert bug in r.hint


def test_the_before_read_is_what_tells_a_collapse_from_a_healthy_past():
    # Judged on its lifetime counters the collapsed engine looks fine (1903 of 2700, thanks to
    # a good past); only the difference shows that this run's drafts were all rejected.
    lifetime = judge("mtp", "vllm-mtp-collapsed-1")
    assert lifetime.status.value == "PASS" and "1903 accepted in 2700 drafts since the engine started" in lifetime.detail
    assert judge("mtp", "vllm-mtp-collapsed-1", "vllm-mtp-collapsed-0").status.value == "FAIL"


def test_counters_that_went_backwards_mean_a_restart_and_fall_back_to_the_lifetime():
    r = judge("mtp", "vllm-mtp-healthy-0", "vllm-mtp-healthy-1")
    assert r.status.value == "PASS" and "300 drafts since the engine started" in r.detail, r


def test_too_few_drafts_are_a_skip():
    r = judge("mtp", "vllm-mtp-healthy-0", "vllm-mtp-healthy-0")
    assert r.status.value == "SKIP" and r.detail == "only 0 drafts this run (at least 32 to judge)"


@pytest.mark.parametrize("fixture, before, status, words", [
    ("sglang-eagle-healthy", "sglang-eagle-before", "PASS",
     "acceptance length 3.47 (sglang:spec_accept_length, the last decode log interval, after 400 verify calls "
     "this run); eagle floor 2.0"),
    ("sglang-eagle-collapsed", "sglang-eagle-before", "FAIL", "acceptance length 1.02"),
    ("sglang-eagle-healthy", "sglang-eagle-healthy", "SKIP", "only 0 speculative verify calls this run"),
    ("sglang-eagle-idle", "sglang-eagle-idle", "SKIP",
     "sglang:spec_accept_length is 0: no speculative decode interval logged yet"),
    ("vllm-no-spec", "vllm-no-spec", "SKIP", "no speculative-decoding series in /metrics"),
])
def test_sglang_and_a_server_without_speculation(fixture, before, status, words):
    r = judge("eagle", fixture, before)
    assert r.status.value == status and words in r.detail, r
    assert (r.hint == hints.SPEC_COLLAPSED) == (status == "FAIL")


def test_a_given_floor_replaces_the_method_s_and_says_so():
    # The healthy run's 1.95, judged against a floor set for a longer draft: FAIL, with the
    # same hint, and the detail names where the floor came from.
    ex = {"metrics-after": metrics(prom("vllm-mtp-healthy-1")), "metrics-before": metrics(prom("vllm-mtp-healthy-0"))}
    high = spec.judge("mtp", ex, 2.5)
    assert high.status.value == "FAIL" and high.hint == hints.SPEC_COLLAPSED, high
    assert high.detail.endswith("this run, 1 tokens per draft); floor (--spec-floor) 2.5")
    low = spec.judge("mtp", {"metrics-after": metrics(prom("vllm-mtp-collapsed-1")),
                             "metrics-before": metrics(prom("vllm-mtp-collapsed-0"))}, 1.0)
    assert low.status.value == "PASS" and low.detail.endswith("floor (--spec-floor) 1.0"), low
    assert spec.check("eagle", 1.5).judge({"metrics-after": metrics(prom("sglang-eagle-collapsed")),
                                           "metrics-before": metrics(prom("sglang-eagle-before"))}).status.value == "FAIL"


@pytest.mark.parametrize("method, tokens, floor, words", [
    ("mtp", None, 1.3, "mtp floor"),
    ("mtp", 1, 1.3, "mtp floor"),  # the vLLM recipe's n=1: calibrated, unchanged
    ("eagle", 3, 2.0, "eagle floor"),  # the SGLang recipe's n=3: calibrated, unchanged
    ("eagle", 2, 2.0, "eagle floor"),
    ("eagle", 1, 1.5, "eagle floor for 1 speculative token (1 + n/2)"),
    ("mtp", 8, 1.3, "mtp floor"),
    ("eagle", 1, 4.5, "floor (--spec-floor)"),
])
def test_the_floor_is_capped_below_what_the_draft_length_can_reach(method, tokens, floor, words):
    given = 4.5 if words.startswith("floor (") else None
    assert spec.floor_for(method, tokens, given) == (floor, words)


def sglang_page(accept_length: float, verify_calls: int) -> Exchange:
    return metrics(f"sglang:spec_accept_length{{tp_rank=\"0\"}} {accept_length}\n"
                   f"sglang:spec_verify_calls_total{{tp_rank=\"0\"}} {verify_calls}\n")


def test_a_healthy_one_token_eagle_run_passes_and_a_collapse_still_fails():
    # --engine sglang --spec-tokens 1: a step reaches at most 2.0, so the uncapped EAGLE floor
    # of 2.0 failed a healthy 1.85; capped at 1.5 it passes, and a collapse (1.02) still fails.
    before = sglang_page(0, 100)
    healthy = spec.check("eagle", tokens=1).judge({"metrics-after": sglang_page(1.85, 600), "metrics-before": before})
    assert healthy.status.value == "PASS", healthy
    assert healthy.detail.endswith("eagle floor for 1 speculative token (1 + n/2) 1.5"), healthy
    assert spec.check("eagle").judge({"metrics-after": sglang_page(1.85, 600),
                                      "metrics-before": before}).status.value == "FAIL"  # the old floor
    collapsed = spec.check("eagle", tokens=1).judge({"metrics-after": sglang_page(1.02, 600), "metrics-before": before})
    assert collapsed.status.value == "FAIL" and collapsed.hint == hints.SPEC_COLLAPSED


def test_speculation_off_is_a_skip_without_reading_metrics():
    check = spec.check("off")
    assert check.probes == ()
    assert check.judge({}).detail == "speculative decoding is off (--speculative / SMOKE_SPECULATIVE)"


def test_no_metrics_endpoint_is_a_skip_and_an_unreadable_one_a_fail():
    r = spec.judge("mtp", {"metrics-after": metrics(None, Kind.HTTP, 404)})
    assert r.status.value == "SKIP" and "HTTP 404" in r.detail
    cut = Exchange("GET", "/metrics", kind=Kind.TOO_LARGE, status=200, detail="the answer is larger than the 4 MiB cap")
    r = spec.judge("mtp", {"metrics-after": cut})
    assert r.status.value == "FAIL" and "4 MiB cap" in r.detail and r.hint == hints.TOO_LARGE


def test_the_exposition_parser_sums_series_and_skips_what_it_cannot_read():
    text = ('# HELP x y\n'
            'a_total{engine="0",path="/v1 {odd} value"} 2\n'
            'a_total{engine="1"} 3.5 1764800000000\n'
            'a_total 1e1\n'
            'b NaN\n'
            'c{x="1"} not-a-number\n'
            'garbage line here\n')
    assert spec.parse_metrics(text) == {"a_total": [2.0, 3.5, 10.0]}


# --- through the CLI: the two reads around the chat probes -----------------------------------

def test_mtp_healthy_through_the_cli_reads_metrics_before_and_after(engine, run_smoke):
    engine.metrics, engine.metrics_after = prom("vllm-mtp-healthy-0"), prom("vllm-mtp-healthy-1")
    run = run_smoke(engine.url, "--speculative", "mtp")
    assert run.code == 0, run.out
    assert run.status("spec-decode") == "PASS" and "this run" in run.check("spec-decode")["detail"]
    assert engine.metrics_reads == 2
    paths = [r["probe"] for r in run.report["requests"]]
    assert paths[0] == "metrics-before" and paths[-1] == "metrics-after"


def test_mtp_collapsed_through_the_cli_fails_the_run(engine, run_smoke):
    engine.metrics, engine.metrics_after = prom("vllm-mtp-collapsed-0"), prom("vllm-mtp-collapsed-1")
    run = run_smoke(engine.url, environ={"SMOKE_SPECULATIVE": "mtp"})
    assert run.code == 1, run.out
    assert run.failed() == {"spec-decode"}
    assert "vllm#34385" in run.out


def test_spec_floor_through_the_cli_and_the_environment(engine, run_smoke):
    engine.metrics, engine.metrics_after = prom("vllm-mtp-healthy-0"), prom("vllm-mtp-healthy-1")
    run = run_smoke(engine.url, "--speculative", "mtp", environ={"SMOKE_SPEC_FLOOR": "3"})
    assert run.code == 1 and run.failed() == {"spec-decode"}, run.out
    assert run.check("spec-decode")["detail"].endswith("floor (--spec-floor) 3.0")


def test_spec_tokens_through_the_environment_cap_the_floor(engine, run_smoke):
    engine.metrics, engine.metrics_after = prom("vllm-mtp-collapsed-0"), prom("vllm-mtp-collapsed-1")
    run = run_smoke(engine.url, "--speculative", "eagle", environ={"SMOKE_SPEC_TOKENS": "1"})
    assert run.check("spec-decode")["detail"].endswith("eagle floor for 1 speculative token (1 + n/2) 1.5"), run.out


def test_eagle_without_a_metrics_endpoint_skips(engine, run_smoke):
    run = run_smoke(engine.url, "--speculative", "eagle")
    assert run.code == 0 and run.status("spec-decode") == "SKIP", run.out


# --- whole pages recorded for the bench (tests/bench/fixtures/README.md) ----------------------

BENCH = Path(__file__).resolve().parents[1] / "bench" / "fixtures"


@pytest.mark.parametrize("method, page, status, words", [
    # a real vLLM 0.32 CPU server with ngram speculation (k=3): 22 of 61 drafts' tokens accepted
    ("mtp", "vllm-0.32-cpu-ngram", "PASS", "acceptance length 1.36 (22 accepted in 61 drafts this run, 3 tokens per draft)"),
    ("mtp", "vllm-0.32-cpu-nospec", "SKIP", "no speculative-decoding series in /metrics"),
    ("eagle", "sglang-0.5.23-eagle", "PASS", "acceptance length 3.50 (sglang:spec_accept_length, the last decode log "
                                             "interval, after 1758 verify calls this run)"),
    ("eagle", "sglang-0.5.23-nospec", "SKIP", "sglang:spec_accept_length is 0"),
])
def test_whole_recorded_pages_of_both_engines(method, page, status, words):
    ex = {f"metrics-{when}": metrics((BENCH / f"{page}-{when}.prom").read_text()) for when in ("before", "after")}
    r = spec.judge(method, ex)
    assert r.status.value == status and words in r.detail, r


def test_through_a_gateway_metrics_come_from_the_engine_without_the_key(engine, run_smoke):
    from hostile import HostileServer, answer

    engine.api_key = "sk-gateway-key"  # the fake plays the gateway: no /metrics there
    pages = iter([prom("vllm-mtp-healthy-0"), prom("vllm-mtp-healthy-1")])

    def metrics_page(r):
        answer(next(pages).encode(), ctype="text/plain; version=0.0.4")(r)

    with HostileServer({"/metrics": metrics_page}) as inside:
        run = run_smoke(engine.url, "--api-key", "sk-gateway-key", "--speculative", "mtp", "--metrics-url", inside.url)
    assert run.code == 0, run.out
    assert run.status("spec-decode") == "PASS" and run.status("auth") == "PASS"
    assert inside.seen == ["/metrics", "/metrics"]
    assert not any(b"sk-gateway-key" in h or b"authorization" in h.lower() for h in inside.heads)
    assert engine.metrics_reads == 0


def test_through_a_gateway_without_a_metrics_url_the_check_says_why_it_skips(engine, run_smoke):
    engine.api_key = "sk-gateway-key"
    run = run_smoke(engine.url, "--api-key", "sk-gateway-key", "--speculative", "mtp")
    assert run.status("spec-decode") == "SKIP"
    assert "/metrics answered HTTP 404" in run.check("spec-decode")["detail"]
