"""The engine-side arithmetic on recorded /metrics pages of both engines, speculation on and off.

Fixtures (tests/bench/fixtures/README.md says how each was made):
- vllm-0.32-cpu-{nospec,ngram}-{before,after}.prom: recorded from a real vLLM 0.32 CPU
  server (the tiny model) around 6 streamed requests, without and with speculative decoding
  (ngram, 3 tokens: the method that runs on a CPU; MTP needs GLM-5's own layers).
- sglang-0.5.23-{eagle,nospec}-{before,after}.prom: SGLang's names, types and labels
  (sglang_fixture.py), since SGLang cannot serve on a CPU.
"""

from pathlib import Path

import pytest

from bench import metrics

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> tuple[metrics.Scrape, metrics.Scrape]:
    return tuple(metrics.parse((FIXTURES / f"{name}-{when}.prom").read_text())
                 for when in ("before", "after"))


def test_vllm_ngram_acceptance_from_the_counters():
    before, after = load("vllm-0.32-cpu-ngram")
    w = metrics.window(before, after)
    assert w.engine == "vllm" and w.spec == "on"
    # Recorded: 61 drafts, 183 draft tokens, 22 accepted over the 6 requests.
    assert w.acceptance_length == pytest.approx(1 + 22 / 61)
    assert w.acceptance_rate == pytest.approx(22 / 183)
    assert w.requests == 6
    assert w.generation_tokens == 6 * 48
    assert w.preemptions == 0
    assert "vllm:spec_decode_num_drafts_total" in w.acceptance_from


def test_vllm_without_speculation_says_off():
    w = metrics.window(*load("vllm-0.32-cpu-nospec"))
    assert (w.engine, w.spec, w.acceptance_length, w.acceptance_rate) == ("vllm", "off", None, None)
    assert w.requests == 6


def test_vllm_prefix_cache_hit_rate_is_the_ratio_of_the_deltas():
    before, after = load("vllm-0.32-cpu-nospec")
    w = metrics.window(before, after)
    hits = after.total("vllm:prefix_cache_hits_total") - before.total("vllm:prefix_cache_hits_total")
    queries = (after.total("vllm:prefix_cache_queries_total")
               - before.total("vllm:prefix_cache_queries_total"))
    assert queries > 0
    assert w.prefix_cache_hit_rate == pytest.approx(hits / queries)


def test_kv_peak_is_the_maximum_over_every_scrape():
    before, after = load("vllm-0.32-cpu-nospec")
    during = metrics.parse('vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.37\n')
    w = metrics.window(before, after, [during])
    assert w.kv_usage_peak == pytest.approx(0.37)


def test_sglang_eagle_acceptance_length_from_verify_calls():
    before, after = load("sglang-0.5.23-eagle")
    w = metrics.window(before, after)
    assert w.engine == "sglang" and w.spec == "on"
    # 6 requests x 1,024 tokens over 6 x 293 verify calls.
    assert w.acceptance_length == pytest.approx(6 * 1024 / (6 * 293))
    assert w.acceptance_rate == pytest.approx(0.83)
    assert w.requests == 6
    assert w.preemptions == 1
    assert w.kv_usage_peak == pytest.approx(0.41)
    assert w.prefix_cache_hit_rate == pytest.approx(256 / 1024)


def test_sglang_gauge_when_the_build_has_no_verify_counter():
    before, after = load("sglang-0.5.23-eagle")
    for s in (before, after):
        del s.samples["sglang:spec_verify_calls_total"]
    w = metrics.window(before, after)
    assert (w.spec, w.acceptance_length) == ("on", 3.5)
    assert w.acceptance_from == "sglang:spec_accept_length (last interval)"


def test_sglang_without_speculation_says_off():
    w = metrics.window(*load("sglang-0.5.23-nospec"))
    assert (w.engine, w.spec, w.acceptance_length) == ("sglang", "off", None)


def test_a_collapsed_acceptance_is_reported_not_hidden():
    before, after = load("vllm-0.32-cpu-ngram")
    after.samples["vllm:spec_decode_num_accepted_tokens_total"] = [0.0]
    w = metrics.window(before, after)
    assert (w.spec, w.acceptance_length, w.acceptance_rate) == ("on", 1.0, 0.0)


def test_a_counter_reset_gives_no_delta():
    before, after = load("vllm-0.32-cpu-ngram")
    w = metrics.window(after, before)  # the engine restarted: counters went down
    assert w.requests is None and w.acceptance_length is None


def test_a_server_without_engine_metrics():
    w = metrics.window(metrics.parse("up 1\n"), metrics.parse("up 1\n"))
    assert w.engine is None and w.notes == ["no vLLM or SGLang metrics on this server"]


def test_a_page_that_does_not_parse_is_an_error():
    s = metrics.parse("vllm:kv_cache_usage_perc{engine= 0.5\n")
    assert s.error and s.error.startswith("/metrics did not parse as Prometheus text")


def test_every_name_in_the_table_is_in_a_fixture_of_its_engine():
    # The names are copied from the engines' source; the recorded vLLM pages prove they are
    # what a real server exposes (the spec_* ones only with speculation on).
    vllm_pages = "".join((FIXTURES / f"vllm-0.32-cpu-ngram-{w}.prom").read_text() for w in ("after",))
    sglang_pages = (FIXTURES / "sglang-0.5.23-eagle-after.prom").read_text()
    for spec, page in ((metrics.ENGINES["vllm"], vllm_pages),
                       (metrics.ENGINES["sglang"], sglang_pages)):
        names = metrics.parse(page).samples
        for field, name in spec.__dict__.items():
            if isinstance(name, str) and name.startswith(spec.prefix) and name != spec.prefix:
                assert name in names, f"{spec.engine}.{field}: {name} not on the page"


def test_fetch_is_bounded_in_size_and_time(httpserver):
    httpserver.expect_request("/big").respond_with_data("x" * 2000)
    s = metrics.fetch(httpserver.url_for("/big"), max_bytes=1000)
    assert s.error.endswith("larger than 1000 bytes (size bound)")

    import time

    def slow(_request):
        time.sleep(1.0)
        from werkzeug import Response
        return Response("up 1\n")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    s = metrics.fetch(httpserver.url_for("/slow"), timeout_s=0.2)
    assert s.error.endswith("no answer within 0.2 s (time bound)")


def test_fetch_reports_an_http_error(httpserver):
    httpserver.expect_request("/metrics").respond_with_data("no", status=404)
    assert metrics.fetch(httpserver.url_for("/metrics")).error.endswith("HTTP 404")
