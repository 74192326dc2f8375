"""The sidecar against SGLang's answers as SGLang's own parsers make them.

SGLang cannot serve on CPU, so its answers to the sidecar's requests are built by
`sglang_parse.py` inside the SGLang venv: the raw GLM-5 text of each kind of request
(`shapes.RAW`, what the CI's tiny model writes) goes through SGLang 0.5.23's
`ReasoningParser("glm45")` and `FunctionCallParser(tools, <tool parser>)` the way its
`serving_chat.py` uses them, streamed and not. The fake engine serves exactly that, in SGLang's
shape, and the sidecar must pass with the right flags and name the flag with the wrong one.

Needs `$CACHE/sglang-venv` (`make sglang-env`); without it this module fails, unless
SMOKE_SGLANG_OPTIONAL=1 (then it skips). One run of the script per parser config, both at
once (~13 s: the SGLang imports).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import shapes
from fake_engine import MODEL, FakeEngine

from smoke import hints
from smoke.agentic import RESULT_PROMPT
from smoke.checks import WEATHER_TOOL
from smoke.kinds import CHAT, KINDS, NAMED, NOTHINK, PARALLEL, REQUIRED, RESULT, TOOL, TRUNCATED
from smoke.runner import ALL_CHECKS as CHECKS
from smoke.runner import all_bodies

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = Path(os.environ.get("CACHE") or REPO / ".cache")
SGLANG_PY = CACHE / "sglang-venv" / "bin" / "python"
SCRIPT = HERE / "sglang_parse.py"
TIMEOUT = 300  # seconds; the SGLang imports alone take ~12 s

CHECK_NAMES = ["readiness"] + [c.name for c in CHECKS]
TOOL_CHECKS = {"tool-call", "tool-call-stream", "parallel-tools", "parallel-tools-stream",
               "tool-choice-required", "tool-choice-named"}
# sglang#37645: thinking on, the model skips thinking and never writes </think>.
SKIPPED_THINKING = "chat-no-close"
KIND_A_CHECKS = {c.name for c in CHECKS if c.probes[0] in (CHAT, CHAT + "-stream")}


def sglang_requests() -> dict[str, dict]:
    """Per kind: the raw GLM-5 output and what the sidecar's request asks for, read from the
    sidecar's own probes (every probe of a kind must ask the same)."""
    out: dict[str, dict] = {}
    for name, body in all_bodies(MODEL, None, None).items():
        if name == RESULT_PROMPT:
            continue  # not a chat request
        kind = shapes.kind_of(body)
        ask = {
            "raw": shapes.RAW[kind],
            "thinking": (body.get("chat_template_kwargs") or {}).get("enable_thinking") is not False,
            "tools": bool(body.get("tools")),
            "tool_choice": body.get("tool_choice", "auto"),
            # The engine's own finish reason: the truncated kind's raw text is what fits max_tokens.
            "finish": "length" if kind == TRUNCATED else "stop",
        }
        assert out.setdefault(kind, ask) == ask, f"probes of kind {kind} disagree"
    assert sorted(out) == sorted(KINDS)
    out[SKIPPED_THINKING] = {**out[CHAT], "raw": shapes.SCRIPT[CHAT].content}
    return out


PARSERS = ("glm47", "glm45")


def need_sglang_venv() -> None:
    if not SGLANG_PY.exists():
        msg = f"no SGLang venv at {SGLANG_PY.parent.parent}: run `make sglang-env`"
        if os.environ.get("SMOKE_SGLANG_OPTIONAL") == "1":
            pytest.skip(msg)
        pytest.fail(msg)


def start_sglang(tool_call_parser: str) -> tuple[subprocess.Popen, str]:
    """Start the script (it imports SGLang first, then reads its input)."""
    spec = {
        "tool_call_parser": tool_call_parser,
        "reasoning_parser": "glm45",
        "tools": [WEATHER_TOOL],
        "requests": sglang_requests(),
    }
    proc = subprocess.Popen(
        [str(SGLANG_PY), str(SCRIPT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return proc, json.dumps(spec)


def finish_sglang(proc: subprocess.Popen, spec: str) -> dict:
    try:
        out, err = proc.communicate(spec, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"sglang_parse.py still running after {TIMEOUT} s")
    assert proc.returncode == 0, f"sglang_parse.py failed ({proc.returncode}):\n{err[-3000:]}"
    return json.loads(out)


@pytest.fixture(scope="module")
def sglang_runs() -> dict[str, dict]:
    """One script run per tool parser, both at once (each is ~12 s of SGLang imports)."""
    need_sglang_venv()
    procs = {p: start_sglang(p) for p in PARSERS}
    try:
        return {p: finish_sglang(*started) for p, started in procs.items()}
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module", params=PARSERS)
def sglang(request, sglang_runs) -> tuple[str, dict]:
    """(tool parser, what SGLang made of each kind)."""
    return request.param, sglang_runs[request.param]


def reply_of(non_stream: dict) -> shapes.Reply:
    calls = tuple(shapes.Call(c["name"], c["arguments"]) for c in non_stream["tool_calls"] or ())
    return shapes.Reply(
        content=non_stream["content"] or "",
        reasoning=non_stream["reasoning_content"] or "",
        calls=calls,
        finish_reason=non_stream["finish_reason"],
    )


def stream_reply_of(stream: dict) -> shapes.Reply:
    """The streamed deltas as a Reply: reasoning and content joined, each call's argument
    fragments kept as SGLang streamed them."""
    reasoning, content, calls = [], [], {}
    for d in stream["deltas"]:
        if "reasoning_content" in d:
            reasoning.append(d["reasoning_content"])
        elif "content" in d:
            content.append(d["content"])
        else:
            tc = d["tool_call"]
            call = calls.setdefault(tc["index"], {"name": None, "fragments": []})
            if tc["name"]:
                assert call["name"] is None, f"SGLang named call {tc['index']} twice: {stream}"
                call["name"] = tc["name"]
            if tc["arguments"]:
                call["fragments"].append(tc["arguments"])
    return shapes.Reply(
        content="".join(content),
        reasoning="".join(reasoning),
        calls=tuple(
            shapes.Call(c["name"], "".join(c["fragments"]), fragments=tuple(c["fragments"]))
            for _, c in sorted(calls.items())
        ),
        finish_reason=stream["finish_reason"],
    )


@pytest.fixture
def sglang_engine(sglang, http_server):
    """The fake engine in SGLang's shape, answering every kind as SGLang's parsers did."""
    parser, out = sglang
    http_server.clear()
    fake = FakeEngine(http_server, "sglang")
    for kind in KINDS:
        got = out["kinds"][kind]
        fake.reply(kind, reply_of(got["non_stream"]), stream=False)
        if got["stream"] is not None:
            fake.reply(kind, stream_reply_of(got["stream"]), stream=True)
    yield parser, out, fake
    fake.release.set()
    http_server.clear()


def test_the_sidecar_judges_sglangs_answers(sglang_engine, run_smoke):
    parser, _, fake = sglang_engine
    run = run_smoke(fake.url)
    if parser == "glm47":
        assert run.code == 0, run.out
        # spec-decode and auth SKIP: no --speculative, no key (as in test_smoke_pass.py)
        assert run.statuses() == {name: "PASS" for name in CHECK_NAMES} | {"spec-decode": "SKIP", "auth": "SKIP"}, run.out
        return
    # GLM-4.5's detector on GLM-5 output: the tool checks fail and name the right flag.
    assert run.code == 1, run.out
    assert run.failed() == TOOL_CHECKS, run.out
    for name in TOOL_CHECKS:
        assert "--tool-call-parser glm47" in (run.check(name)["hint"] or ""), run.out


def test_the_sidecar_names_sglang_37645(sglang_engine, run_smoke):
    """The model skipped thinking without </think>: SGLang's glm45 reasoning parser puts the
    whole answer in reasoning_content, and the checks of kind (a) say so."""
    parser, out, fake = sglang_engine
    got = out["kinds"][SKIPPED_THINKING]
    fake.reply(CHAT, reply_of(got["non_stream"]), stream=False)
    fake.reply(CHAT, stream_reply_of(got["stream"]), stream=True)
    run = run_smoke(fake.url)
    assert run.code == 1, run.out
    assert run.failed() == KIND_A_CHECKS | (TOOL_CHECKS if parser == "glm45" else set()), run.out
    for name in KIND_A_CHECKS:
        assert run.check(name)["hint"] == hints.WHOLE_ANSWER_IN_REASONING, run.out


def test_what_sglang_makes_of_glm5_output(sglang):
    """Recorded behaviour of SGLang 0.5.23 on the CI model's raw text (not a requirement on
    the sidecar; a change here means SGLang changed, and the fake shapes may need a look)."""
    parser, out = sglang
    assert out["sglang"] == "0.5.23"
    # GLM-5's template opens <think> in its generation prompt only when thinking is on, so
    # SGLang forces reasoning per request (enable_thinking), not for the whole template.
    assert out["template"]["force_reasoning"] is False
    kinds = out["kinds"]
    forced = {k: v["force_reasoning"] for k, v in kinds.items()}
    assert forced == {k: k != NOTHINK for k in kinds}
    # sglang#37645, as SGLang 0.5.23 still does it: the whole answer in reasoning_content.
    assert kinds[SKIPPED_THINKING]["non_stream"] == {
        "reasoning_content": shapes.SCRIPT[CHAT].content,
        "content": "",
        "tool_calls": None,
        "finish_reason": "stop",
    }
    want = {k: reply_of(kinds[k]["non_stream"]) for k in kinds}
    for kind in (CHAT, NOTHINK, RESULT, TRUNCATED):
        assert want[kind] == shapes.Reply(
            reasoning=shapes.SCRIPT[kind].reasoning,
            content=shapes.SCRIPT[kind].content,
            finish_reason=shapes.SCRIPT[kind].finish,
        ), kind
    c = kinds[TOOL]["non_stream"]
    assert c["reasoning_content"] == shapes.SCRIPT[TOOL].reasoning
    if parser == "glm47":
        assert c == {
            "reasoning_content": shapes.SCRIPT[TOOL].reasoning,
            "content": "",
            "tool_calls": [{"name": "get_weather", "arguments": '{"city": "Tokyo"}'}],
            "finish_reason": "tool_calls",
        }
        # Glm47MoeDetector streams the arguments as JSON built character by character.
        fragments = [d["tool_call"]["arguments"] for d in kinds[TOOL]["stream"]["deltas"] if "tool_call" in d]
        assert fragments == ["", "{", '"city": ', '"Toky', "o", '"', "}"]
    else:
        # Surprise worth knowing: SGLang's glm45 detector does not leak the GLM-5 call as text;
        # it sees <tool_call>, parses nothing (no newline after the name) and drops the call:
        # empty content, no tool_calls, finish_reason "stop" (serving_chat._process_tool_calls,
        # "dropping the incomplete call"). Streamed, nothing at all follows the reasoning.
        assert c == {
            "reasoning_content": shapes.SCRIPT[TOOL].reasoning,
            "content": "",
            "tool_calls": None,
            "finish_reason": "stop",
        }
        assert all("reasoning_content" in d for d in kinds[TOOL]["stream"]["deltas"])


def test_what_sglang_makes_of_two_calls_and_forced_ones(sglang):
    """Recorded: SGLang 0.5.23 on two GLM-5 calls and on forced tool choice. With glm47 the two
    calls come back alike streamed and not (sglang#35564's glm47 difference is int arguments
    streamed as strings; the weather tool's argument is a string), with indices 0 and 1; forced
    calls are parsed from the native format (Glm47MoeDetector owns its format) and finish
    "tool_calls", named ones too. With glm45 every call is lost or left as text."""
    parser, out = sglang
    kinds = out["kinds"]
    two = [{"name": "get_weather", "arguments": json.dumps({"city": c})} for c in ("Tokyo", "Paris")]
    if parser == "glm47":
        assert kinds[PARALLEL]["non_stream"]["tool_calls"] == two
        streamed = stream_reply_of(kinds[PARALLEL]["stream"])
        assert [(c.name, c.text) for c in streamed.calls] == [(c["name"], c["arguments"]) for c in two]
        assert {d["tool_call"]["index"] for d in kinds[PARALLEL]["stream"]["deltas"] if "tool_call" in d} == {0, 1}
        for kind in (REQUIRED, NAMED):
            assert kinds[kind]["non_stream"]["tool_calls"] == two[:1], kind
            assert kinds[kind]["non_stream"]["finish_reason"] == "tool_calls", kind
    else:
        assert kinds[PARALLEL]["non_stream"]["tool_calls"] is None
        for kind in (REQUIRED, NAMED):
            assert kinds[kind]["non_stream"]["content"] == shapes.RAW[TOOL].split("</think>")[1], kind


def test_sglang_streams_what_it_answers(sglang):
    """SGLang's streamed deltas, joined, say what its non-streamed answer says; reasoning comes
    first, and a call streams its name once, then `{`, key/value pieces and `}`."""
    parser, out = sglang
    for kind, got in out["kinds"].items():
        if got["stream"] is None:
            continue  # forced tool choice: not streamed by the sidecar
        streamed, whole = stream_reply_of(got["stream"]), reply_of(got["non_stream"])
        said = (streamed.reasoning, streamed.content, streamed.finish)
        assert said == (whole.reasoning, whole.content, whole.finish), kind
        assert [(c.name, json.loads(c.text)) for c in streamed.calls] == [
            (c.name, json.loads(c.text)) for c in whole.calls
        ]
        seen = [next(iter(d)) for d in got["stream"]["deltas"]]
        first_other = next((i for i, k in enumerate(seen) if k != "reasoning_content"), len(seen))
        assert "reasoning_content" not in seen[first_other:], f"{kind}: reasoning after the answer: {seen}"
        for call in streamed.calls:
            assert call.fragments[0] == "{" and call.fragments[-1] == "}" and len(call.fragments) > 2, call
