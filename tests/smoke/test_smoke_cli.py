"""The command line: options and their environment variables, usage errors, the report,
what is sent, and the real `python -m smoke` entry point."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_engine import MODEL
from shapes import kind_of

from conftest import invoke
from smoke.checks import WEATHER_TOOL
from smoke.kinds import (
    CHAT,
    NAMED,
    NOTHINK,
    PARALLEL,
    PARALLEL_QUESTION,
    REQUIRED,
    RESULT,
    TOOL,
    TOOL_QUESTION,
    TRUNCATED,
)

REPO = Path(__file__).resolve().parents[2]


def test_every_option_can_come_from_the_environment(engine, tmp_path):
    report = tmp_path / "r.json"
    env = {
        "SMOKE_BASE_URL": engine.url,
        "SMOKE_MODEL": MODEL,
        "SMOKE_REPORT": str(report),
        "SMOKE_DEADLINE": "5",
        "SMOKE_TIMEOUT": "5",
        "SMOKE_POLL_INTERVAL": "0.1",
        "SMOKE_API_KEY": "sk-secret-123",
        "SMOKE_TEMPERATURE": "0.6",
    }
    engine.api_key = "sk-secret-123"
    result = invoke([], environ=env)
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["verdict"] == "pass"
    assert {s["auth"] for s in engine.seen + engine.seen_tokenize} == {"Bearer sk-secret-123"}
    assert {s["body"]["temperature"] for s in engine.seen} == {0.6}


def test_the_api_key_is_never_printed_nor_reported(engine, run_smoke):
    engine.api_key = "sk-secret-123"
    run = run_smoke(engine.url, "--api-key", "sk-secret-123")
    assert run.code == 0
    assert "sk-secret-123" not in run.out
    assert "sk-secret-123" not in json.dumps(run.report)


def test_credentials_in_the_url_are_not_shown(engine, run_smoke):
    run = run_smoke(engine.url.replace("http://", "http://user:pw-secret@"))
    assert run.code == 0, run.out
    assert "pw-secret" not in run.out + json.dumps(run.report)
    assert run.report["base_url"].startswith("http://***@")


URL = ["--base-url", "http://x:1", "--model", "m"]


@pytest.mark.parametrize(
    "argv, env, message",
    [
        ([], {}, "Error: --base-url (or SMOKE_BASE_URL) is required"),
        (["--base-url", "http://x:1"], {}, "Error: --model (or SMOKE_MODEL) is required"),
        (["--base-url", "engine:8000", "--model", "m"], {},
         "Error: Invalid value for '--base-url' (env var: 'SMOKE_BASE_URL'): 'engine:8000' is not "
         "http(s)://host[:port]; give the engine's root, e.g. http://engine:8000"),
        (["--model", "m"], {"SMOKE_BASE_URL": "ftp://me:pw-secret@x:1"},
         "Error: Invalid value for '--base-url' (env var: 'SMOKE_BASE_URL'): 'ftp://***@x:1' is not "
         "http(s)://host[:port]; give the engine's root, e.g. http://engine:8000"),
        (["--base-url", "http://x:1\n", "--model", "m"], {}, "is not http(s)://host[:port]"),
        (["--base-url", "http://x:99999", "--model", "m"], {}, "has no valid port"),
        (URL + ["--deadline", "-5"], {},
         "Error: Invalid value for '--deadline' (env var: 'SMOKE_DEADLINE'): '-5' is not a number of seconds > 0; "
         "give e.g. 30"),
        (URL + ["--timeout", "nan"], {}, "'nan' is not a number of seconds > 0"),
        (URL + ["--poll-interval", "inf"], {}, "'inf' is not a number of seconds > 0"),
        (URL, {"SMOKE_TIMEOUT": "soon"},
         "Error: Invalid value for '--timeout' (env var: 'SMOKE_TIMEOUT'): 'soon' is not a number of seconds > 0; "
         "give e.g. 30"),
        (URL + ["--temperature", "3"], {}, "'3' is not a temperature between 0 and 2; give e.g. 0.6"),
        (URL + ["--report", "/nonexistent/r.json"], {},
         "Error: Invalid value for '--report': folder /nonexistent does not exist or is not writable; create it first"),
        (URL, {"SMOKE_SPECULATIVE": "medusa"},
         "Error: Invalid value for '--speculative' (env var: 'SMOKE_SPECULATIVE'): 'medusa' is not one of "
         "'mtp', 'eagle', 'off'."),
        (URL + ["--spec-floor", "0.9"], {},
         "Error: Invalid value for '--spec-floor' (env var: 'SMOKE_SPEC_FLOOR'): '0.9' is not an acceptance length "
         "between 1 and 64 (it counts the bonus token: 1 = every draft rejected); give e.g. 1.3"),
        (URL, {"SMOKE_SPEC_FLOOR": "nan"}, "'nan' is not an acceptance length between 1 and 64"),
        (URL + ["--spec-floor", "65"], {}, "'65' is not an acceptance length between 1 and 64"),
        (URL + ["--spec-tokens", "0"], {},
         "Error: Invalid value for '--spec-tokens' (env var: 'SMOKE_SPEC_TOKENS'): 0 is not in the range 1<=x<=64."),
        (URL, {"SMOKE_SPEC_TOKENS": "three"}, "'three' is not a valid integer"),
        (URL + ["--bogus"], {}, "Error: No such option '--bogus'."),
        (URL + ["--api-key-file", "/nonexistent/keys"], {},
         "Error: Invalid value for '--api-key-file': cannot read '/nonexistent/keys' (No such file or directory); "
         "give a readable file, e.g. /run/secrets/api_keys"),
        (URL + ["--api-key", "sk-a"], {"SMOKE_API_KEY_FILE": "/etc/hostname"},
         "Error: --api-key and --api-key-file (or SMOKE_API_KEY and SMOKE_API_KEY_FILE) are both set; give one "
         "(the file keeps the key out of argv and the environment)"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, env, message):
    result = invoke(argv, env)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr, result.stderr
    assert "pw-secret" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("content", ["", "\n  \n", "sk key with spaces\n", "sk-\x01ctl\n"])
def test_a_key_file_without_a_usable_key_is_refused_without_showing_it(tmp_path, content):
    keys = tmp_path / "keys"
    keys.write_text(content)
    result = invoke(URL + ["--api-key-file", str(keys)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: Invalid value for '--api-key-file'")
    assert content.strip() == "" or content.strip() not in result.stderr


def test_a_bad_key_in_the_environment_is_refused_without_showing_it():
    result = invoke(URL, {"SMOKE_API_KEY": "sk-secret with space"})
    assert result.exit_code == 2
    assert "sk-secret" not in result.output
    assert "is not a bearer token" in result.stderr


def test_the_key_file_gives_its_first_non_empty_line(engine, run_smoke, tmp_path):
    keys = tmp_path / "api_keys"
    keys.write_text("\n  sk-first-key  \nsk-second-key\n")
    engine.api_key = "sk-first-key"
    run = run_smoke(engine.url, "--api-key-file", str(keys))
    assert run.code == 0, run.out
    assert {s["auth"] for s in engine.seen} == {"Bearer sk-first-key"}
    assert run.status("auth") == "PASS"
    assert "sk-first-key" not in run.out + json.dumps(run.report)


def test_an_openai_style_base_url_is_taken_back_to_the_root(engine, run_smoke):
    run = run_smoke(engine.url + "/v1/")
    assert run.code == 0, run.out
    assert run.report["base_url"] == engine.url


def test_the_report_holds_checks_timings_requests_and_server_info(engine, run_smoke):
    run = run_smoke(engine.url)
    report = run.report
    assert report["verdict"] == "pass" and report["exit_code"] == 0
    assert report["model"] == MODEL
    assert set(report["timings"]) == {
        "ready_wait_s", "checks_wall_s", "request_latency_sum_s", "wall_over_latency_sum", "total_s"
    }
    for check in report["checks"]:
        assert set(check) == {"name", "status", "detail", "hint", "latency_s", "exchanges"}
        assert (check["latency_s"] is None) == (check["status"] == "SKIP")
    assert len(report["requests"]) == 13
    assert all(r["status"] == 200 and r["kind"] == "ok" and r["latency_s"] >= 0 for r in report["requests"])
    assert all(r["first_event_s"] is not None for r in report["requests"] if r["stream"])
    expected = {"vllm": {"version": "0.32.0"}, "sglang": {"tool_call_parser": "glm47", "reasoning_parser": "glm45"}}
    assert expected[engine.engine].items() <= report["server"].items()
    assert report["server"]["owned_by"] == engine.engine


def test_requests_fall_into_the_kinds_the_scripted_model_knows(engine, run_smoke):
    run_smoke(engine.url)
    bodies = [s["body"] for s in engine.seen]
    assert sorted(kind_of(b) + ("+stream" if b.get("stream") else "") for b in bodies) == sorted([
        CHAT, CHAT + "+stream", NOTHINK, NOTHINK + "+stream", TOOL, TOOL + "+stream", RESULT,
        PARALLEL, PARALLEL + "+stream", TRUNCATED, REQUIRED, NAMED,
    ])
    questions = {TOOL: TOOL_QUESTION, RESULT: TOOL_QUESTION, REQUIRED: TOOL_QUESTION, NAMED: TOOL_QUESTION,
                 PARALLEL: PARALLEL_QUESTION}
    for body in bodies:
        assert body["model"] == MODEL
        kind = kind_of(body)
        if kind in questions:
            choice = {REQUIRED: "required", NAMED: {"type": "function", "function": {"name": "get_weather"}}}
            assert body["tools"] == [WEATHER_TOOL] and body["tool_choice"] == choice.get(kind, "auto")
            assert body["messages"][0] == {"role": "user", "content": questions[kind]}
        else:
            assert "tools" not in body
        if kind == NOTHINK:
            assert body["chat_template_kwargs"] == {"enable_thinking": False}
        else:
            assert "chat_template_kwargs" not in body
        assert "temperature" not in body  # the model's own default unless asked
    # The tool result's prompt, through /tokenize: the round trip's conversation, no sampling.
    [tokenized] = [s["body"] for s in engine.seen_tokenize]
    assert kind_of(tokenized) == RESULT and set(tokenized) == {"model", "messages", "tools"}


def test_checks_run_concurrently(engine, run_smoke):
    engine.delay = 0.5
    run = run_smoke(engine.url)
    assert run.code == 0, run.out
    timings = run.report["timings"]
    assert timings["request_latency_sum_s"] >= 12 * 0.5
    assert timings["checks_wall_s"] < 1.5, timings


def _module(args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKE_")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "smoke", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def test_python_dash_m_smoke_passes_a_correct_engine(engine, tmp_path):
    proc = _module(["--report", str(tmp_path / "r.json")], {"SMOKE_BASE_URL": engine.url, "SMOKE_MODEL": MODEL})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verdict: PASS: 16 passed, 0 failed, 2 skipped" in proc.stdout


def test_python_dash_m_smoke_exits_3_when_never_ready(free_port):
    proc = _module(["--base-url", f"http://127.0.0.1:{free_port}", "--model", MODEL, "--deadline", "1"])
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


VARIABLES = (
    "SMOKE_BASE_URL", "SMOKE_MODEL", "SMOKE_API_KEY", "SMOKE_API_KEY_FILE", "SMOKE_REPORT", "SMOKE_DEADLINE",
    "SMOKE_TIMEOUT", "SMOKE_POLL_INTERVAL", "SMOKE_TEMPERATURE", "SMOKE_SPECULATIVE", "SMOKE_METRICS_URL",
    "SMOKE_SPEC_FLOOR", "SMOKE_SPEC_TOKENS",
)


def test_python_dash_m_smoke_help_names_every_variable_and_shows_no_value(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("sk-file-secret\n")
    proc = _module(["--help"], {
        "SMOKE_BASE_URL": "http://admin:pw-secret@engine:8000", "SMOKE_API_KEY": "sk-env-secret",
        "SMOKE_API_KEY_FILE": str(keys), "SMOKE_MODEL": "model-secret", "SMOKE_REPORT": "/tmp/report-secret.json",
        "SMOKE_DEADLINE": "1234.5",
    })
    assert proc.returncode == 0
    assert proc.stdout.startswith("Usage: python -m smoke [OPTIONS]")
    for var in VARIABLES:
        assert var in proc.stdout
    for value in ("pw-secret", "sk-env-secret", "sk-file-secret", "model-secret", "report-secret", "1234.5",
                  str(keys)):
        assert value not in proc.stdout + proc.stderr


def test_a_short_context_shrinks_max_tokens_to_fit(engine, run_smoke):
    # vLLM answers HTTP 400 when max_tokens exceeds --max-model-len (seen on the CPU test server).
    engine.max_model_len = 512
    run = run_smoke(engine.url)
    assert run.code == 0, run.out
    caps = {b["body"]["max_tokens"] for b in engine.seen}
    assert caps and max(caps) <= 512 - 250, caps


def test_a_long_context_keeps_the_caps(engine, run_smoke):
    run_smoke(engine.url)
    caps = {kind_of(b["body"]): b["body"]["max_tokens"] for b in engine.seen}
    assert caps == {CHAT: 1024, NOTHINK: 256, TOOL: 1024, RESULT: 1024, PARALLEL: 1024, TRUNCATED: 24,
                    REQUIRED: 1024, NAMED: 1024}
