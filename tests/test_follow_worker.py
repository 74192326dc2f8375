"""A worker host's start (two hosts, node rank >= 1): it serves no API, so make up follows its
log until it has joined the head. Recorded and assembled logs in tests/logs/worker/."""

from pathlib import Path

import pytest

from stack.follow import Follower, LineSplitter, State, watch
from stack.logrules import RULES, WORKER_RULES

LOGS = Path(__file__).parent / "logs" / "worker"

# log -> (engine, phase reached, the last phase line's text or None)
EXPECTED = {
    "vllm-joined-recorded.log": ("vllm", "ready", "joined the head: rank 1 of 2 (PP rank 1)"),
    "vllm-waiting-recorded.log": ("vllm", "starting", "rank 1 of 2: connecting to tcp://10.213.7.1:29501"),
    "sglang-joined.log": ("sglang", "ready", "joined the head"),
}


def lines_of(name: str) -> list[str]:
    splitter = LineSplitter()
    return splitter.feed((LOGS / name).read_text()) + splitter.flush()


def test_every_worker_log_has_an_expectation():
    assert sorted(p.name for p in LOGS.glob("*.log")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_worker_log_reaches_its_phase(name):
    engine, phase, text = EXPECTED[name]
    follower = Follower(WORKER_RULES[engine])
    events = follower.feed_all(lines_of(name))
    assert follower.fatal is None and follower.phase == phase
    assert [e.text for e in events if e.kind in ("phase", "detail")][-1] == text


@pytest.mark.parametrize("name", ["vllm-joined-recorded.log", "sglang-joined.log"])
def test_the_heads_rules_never_call_a_worker_ready(name):
    """A worker prints no API line: with the head's rules, make up would wait forever."""
    follower = Follower(RULES[EXPECTED[name][0]])
    follower.feed_all(lines_of(name))
    assert not follower.ready


class Script:
    """A container's log handed over in chunks, one per poll, then its state."""

    def __init__(self, chunks, states):
        self.chunks, self.states = list(chunks), list(states)

    def new_lines(self):
        return self.chunks.pop(0) if self.chunks else []

    def state(self):
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]


def run_watch(source, engine="vllm"):
    now = [0.0]
    out = []
    outcome = watch(source, Follower(WORKER_RULES[engine]), out.append, timeout=60, poll=1.0,
                    clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    return outcome, out


def test_watch_exits_ready_when_the_worker_joins():
    lines = lines_of("vllm-joined-recorded.log")
    outcome, out = run_watch(Script([lines[:20], lines[20:]], [State(running=True)]))
    assert outcome.status == "ready" and outcome.reason == "log"
    assert any("joined the head: rank 1 of 2" in line for line in out)


def test_watch_reports_a_worker_that_exits_before_joining():
    lines = lines_of("vllm-waiting-recorded.log")
    outcome, _ = run_watch(Script([lines], [State(running=True), State(running=False, exit_code=1)]))
    assert outcome.status == "exited" and outcome.state.exit_code == 1


def test_watch_times_out_on_a_worker_whose_head_never_answers():
    outcome, _ = run_watch(Script([lines_of("vllm-waiting-recorded.log")], [State(running=True)]))
    assert outcome.status == "timeout"
