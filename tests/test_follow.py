"""The load follower: recorded engine logs in, phases and fatal verdicts out. No Docker."""

from pathlib import Path

import pytest
import yaml

from stack.rendered import load_render
from click.testing import CliRunner

from stack import up
from stack.follow import (
    Follower,
    LineSplitter,
    Outcome,
    State,
    bar,
    line_for,
    replay,
    watch,
)
from stack.logrules import PHASES, RULES, SGLANG, VLLM

LOGS = Path(__file__).parent / "logs"
ROOT = Path(__file__).resolve().parent.parent

# log file -> (the fatal rule it must end on, or None; the phase reached)
EXPECTED = {
    "vllm-ok-glm5-cold.log": (None, "ready"),
    "vllm-ok-cpu-recorded.log": (None, "ready"),
    "vllm-bad-tool-parser-cpu-recorded.log": ("bad-tool-parser", "starting"),
    "vllm-cuda-oom.log": ("cuda-oom", "capturing"),
    "vllm-kv-cache-no-memory.log": ("kv-cache-no-memory", "compiling"),
    "vllm-kv-cache-too-small.log": ("kv-cache-too-small", "kv-cache"),
    "vllm-transformers-too-old.log": ("transformers-too-old", "starting"),
    "vllm-deepgemm-missing.log": ("deepgemm-missing", "kv-cache"),
    "vllm-bad-tool-parser.log": ("bad-tool-parser", "starting"),
    "vllm-bad-reasoning-parser.log": ("bad-reasoning-parser", "starting"),
    "vllm-tool-parser-missing.log": ("tool-parser-missing", "starting"),
    "vllm-nccl.log": ("nccl", "weights"),
    "vllm-engine-ready-timeout.log": ("engine-ready-timeout", "loading"),
    "vllm-engine-died.log": ("engine-died", "compiling"),
    "vllm-weights-not-cached.log": ("weights-not-cached", "starting"),
    "vllm-hf-repo-not-found.log": ("hf-repo-not-found", "starting"),
    "vllm-hf-hub-unreachable.log": ("hf-hub-unreachable", "weights"),
    "sglang-ok-glm5-warm.log": (None, "ready"),
    "sglang-kv-cache-no-memory.log": ("kv-cache-no-memory", "loading"),
    "sglang-cuda-oom.log": ("cuda-oom", "capturing"),
    "sglang-cuda-graph-capture.log": ("cuda-graph-capture", "capturing"),
    "sglang-transformers-too-old.log": ("transformers-too-old", None),
    "sglang-deepgemm-missing.log": ("deepgemm-missing", "loading"),
    "sglang-bad-tool-parser.log": ("bad-tool-parser", None),
    "sglang-bad-reasoning-parser.log": ("bad-reasoning-parser", None),
    "sglang-bad-reasoning-parser-recorded.log": ("bad-reasoning-parser", None),
    "sglang-bad-tool-parser-recorded.log": ("bad-tool-parser", None),
    "sglang-nccl.log": ("nccl", "starting"),
    "sglang-watchdog-timeout.log": ("watchdog-timeout", "kv-cache"),
    "sglang-engine-died.log": ("engine-died", "loading"),
    "sglang-weights-not-cached.log": ("weights-not-cached", "weights"),
    "sglang-hf-repo-not-found.log": ("hf-repo-not-found", "starting"),
    "sglang-hf-hub-unreachable.log": ("hf-hub-unreachable", "weights"),
}
OK_LOGS = [name for name, (fatal, _) in EXPECTED.items() if fatal is None]
# The phases a successful load walks through; the CPU engine compiles nothing, captures nothing.
WALKS = {
    "vllm-ok-glm5-cold.log": list(PHASES),
    "sglang-ok-glm5-warm.log": list(PHASES),
    "vllm-ok-cpu-recorded.log": ["starting", "weights", "loading", "kv-cache", "warming", "ready"],
}


def lines_of(name: str) -> list[str]:
    # newline="" keeps tqdm's "\r" frames, as `docker logs` hands them over
    splitter = LineSplitter()
    with open(LOGS / name, encoding="utf-8", newline="") as f:
        text = f.read()
    return splitter.feed(text) + splitter.flush()


def engine_of_log(name: str) -> str:
    return name.split("-", 1)[0]


# --- recorded logs ---------------------------------------------------------------------------


def test_every_recorded_log_has_an_expectation():
    assert sorted(p.name for p in LOGS.glob("*.log")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_log_gives_its_verdict_and_phase(name):
    fatal, phase = EXPECTED[name]
    _, follower = replay(engine_of_log(name), lines_of(name))
    assert (follower.fatal.rule.name if follower.fatal else None) == fatal
    assert follower.phase == phase


@pytest.mark.parametrize("rules", [VLLM, SGLANG], ids=lambda r: r.engine)
def test_each_fatal_rule_fires_on_its_own_log(rules):
    for rule in rules.fatals:
        name = f"{rules.engine}-{rule.name}.log"
        assert (LOGS / name).is_file(), f"no recorded log for {rules.engine} rule {rule.name}"
        _, follower = replay(rules.engine, lines_of(name))
        assert follower.fatal is not None and follower.fatal.rule is rule, name


@pytest.mark.parametrize("name", OK_LOGS)
@pytest.mark.parametrize("rules", [VLLM, SGLANG], ids=lambda r: r.engine)
def test_no_fatal_rule_fires_on_a_successful_load(rules, name):
    # Both tables against both logs: a pattern loose enough to hit the other engine's
    # healthy start would be loose enough to hit a future version of its own.
    for line in lines_of(name):
        for rule in rules.fatals:
            assert not rule.pattern.search(line), f"{rule.name} fires on: {line}"


@pytest.mark.parametrize("name", OK_LOGS)
def test_successful_load_walks_its_phases_in_order(name):
    events, follower = replay(engine_of_log(name), lines_of(name))
    phases = [e.phase for e in events if e.kind == "phase"]
    assert phases == WALKS[name]
    assert follower.ready and follower.fatal is None


def test_the_cause_wins_over_the_engine_death_logged_before_it():
    events, follower = replay("vllm", lines_of("vllm-kv-cache-no-memory.log"))
    fatals = [e.text for e in events if e.kind == "fatal"]
    assert fatals == ["engine-died", "kv-cache-no-memory"]
    assert "No available memory for the cache blocks" in follower.fatal.line


def test_a_death_logged_after_the_cause_does_not_replace_it():
    events, follower = replay("vllm", lines_of("vllm-deepgemm-missing.log"))
    fatals = [e.text for e in events if e.kind == "fatal"]
    assert fatals == ["engine-died", "deepgemm-missing"]  # "EngineCore failed to start" is ignored
    assert follower.fatal.rule.name == "deepgemm-missing"


def test_fatal_verdict_carries_the_line_and_a_hint_naming_the_flag():
    _, follower = replay("sglang", lines_of("sglang-bad-reasoning-parser.log"))
    assert "invalid choice: 'glm47'" in follower.fatal.line
    assert "--reasoning-parser glm45" in follower.fatal.rule.hint
    _, follower = replay("vllm", lines_of("vllm-cuda-oom.log"))
    assert "--gpu-memory-utilization" in follower.fatal.rule.hint
    _, follower = replay("sglang", lines_of("sglang-cuda-oom.log"))
    assert "--mem-fraction-static" in follower.fatal.rule.hint


def test_fatal_rules_and_steps_are_well_formed():
    for rules in RULES.values():
        names = [rule.name for rule in rules.fatals]
        assert len(names) == len(set(names)), rules.engine
        assert all(rule.hint for rule in rules.fatals)
        for step in rules.steps:
            assert step.phase in PHASES
            if step.progress:
                assert {"n", "total"} <= set(step.pattern.groupindex)


# --- the follower's mechanics ----------------------------------------------------------------


def shards(n: int, total: int = 141) -> str:
    return f"Loading safetensors checkpoint shards: {100 * n // total:3d}% Completed | {n}/{total} [00:01<00:02,  4.31s/it]"


def test_a_bar_is_reported_per_tenth_however_many_ranks_print_it():
    follower = Follower(VLLM)
    events = []
    for n in range(142):
        for _rank in range(8):
            events += follower.feed(shards(n))
    progress = [e for e in events if e.total]
    assert [e.n for e in progress] == [0, 15, 29, 43, 57, 71, 85, 99, 113, 127, 141]


def test_a_bar_is_rate_limited_in_time_but_its_end_is_always_shown():
    follower = Follower(VLLM, interval=30.0)
    events = []
    for n in range(142):
        events += follower.feed(shards(n), now=n * 1.0)  # one shard a second
    assert [e.n for e in events if e.total] == [0, 30, 60, 90, 120, 141]


def test_phases_never_go_back():
    follower = Follower(VLLM)
    follower.feed(shards(10))
    assert follower.phase == "loading"
    late = "(Worker_TP7 pid=452) INFO 02-12 09:15:11 [gpu_model_runner.py:2602] Starting to load model zai-org/GLM-5-FP8..."
    assert follower.feed(late) == []
    assert follower.phase == "loading"


def test_a_detail_is_shown_once_per_phase():
    follower = Follower(VLLM)
    line = "(Worker_TP{} pid=1) INFO 02-12 09:27:13 [gpu_worker.py:298] Available KV cache memory: 24.85 GiB"
    events = [e for r in range(8) for e in follower.feed(line.format(r))]
    assert [(e.kind, e.text) for e in events] == [("phase", "KV cache memory: 24.85 GiB per GPU")]


def test_colours_are_stripped_before_matching():
    follower = Follower(SGLANG)
    events = follower.feed("\x1b[32m[2026-02-12 10:06:45] The server is fired up and ready to roll!\x1b[0m")
    assert follower.ready and events[0].line.startswith("[2026")


def test_line_splitter_handles_tqdm_frames_and_partial_lines():
    splitter = LineSplitter()
    assert splitter.feed(b"a\r\nb 10%\rb 20") == ["a", "b 10%"]
    assert splitter.feed("%\rb 30%\n\n") == ["b 20%", "b 30%"]
    assert splitter.feed("tail") == []
    assert splitter.flush() == ["tail"]


def test_output_line_shape():
    follower = Follower(VLLM)
    (event,) = follower.feed(shards(64))
    assert line_for(event, 754) == "[12:34] loading    checkpoint shards [#########-----------]  64/141  45%"
    assert line_for(event, 3 * 3600 + 5) == "[3:00:05] loading    checkpoint shards [#########-----------]  64/141  45%"
    assert bar(0, 10, 4) == "[----]" and bar(10, 10, 4) == "[####]"


# --- which engine a compose service runs -----------------------------------------------------


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_make_up_takes_the_engine_from_the_profile(engine):
    # The render states its engine in x-profile; nothing guesses it from the image name.
    assert load_render(ROOT / "compose" / f"{engine}.yaml").profile.engine == engine


# --- the wait loop, against a scripted container ---------------------------------------------


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class Script:
    """A container whose log and state change on a timetable: {second: [lines]}."""

    def __init__(self, clock, lines=None, states=None):
        self.clock = clock
        self.lines = dict(lines or {})
        self.states = dict(states or {})  # {second: State}, the latest one due applies
        self.state_calls = 0

    def new_lines(self):
        due = sorted(t for t in self.lines if t <= self.clock.now)
        return [line for t in due for line in self.lines.pop(t)]

    def state(self):
        self.state_calls += 1
        due = [t for t in self.states if t <= self.clock.now]
        return self.states[max(due)] if due else State(running=True, health="starting")


def run_watch(script, clock, engine="vllm", timeout=3600.0, grace=3.0):
    out = []
    outcome = watch(script, Follower(RULES[engine]), out.append, timeout=timeout, grace=grace,
                    poll=1.0, clock=clock, sleep=clock.sleep)
    return outcome, out


OOM = "(Worker_TP4 pid=449) ERROR 02-12 09:27:22 [multiproc_executor.py:671] torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.74 GiB."
DIED = "(EngineCore_DP0 pid=312) ERROR 02-12 09:27:15 [core.py:708] EngineCore failed to start."
CAUSE = "(EngineCore_DP0 pid=312) ERROR 02-12 09:27:15 [core.py:708] ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine."


def test_watch_stops_at_a_specific_fatal_line_while_the_container_still_runs():
    clock = Clock()
    script = Script(clock, lines={5: [shards(3)], 700: [OOM]})
    outcome, out = run_watch(script, clock)
    assert outcome.status == "fatal" and outcome.fatal.rule.name == "cuda-oom"
    assert outcome.seconds - 700 <= 1.0  # the issue allows 10 s
    assert outcome.tail[-1] == OOM
    assert any("FATAL cuda-oom" in line for line in out)


def test_watch_waits_a_grace_period_for_the_cause_after_a_generic_death():
    clock = Clock()
    script = Script(clock, lines={10: [DIED], 12: [CAUSE]})
    outcome, _ = run_watch(script, clock)
    assert outcome.status == "fatal" and outcome.fatal.rule.name == "kv-cache-no-memory"


def test_watch_settles_on_the_generic_death_when_no_cause_follows():
    clock = Clock()
    script = Script(clock, lines={10: [DIED]})
    outcome, _ = run_watch(script, clock, grace=3.0)
    assert outcome.status == "fatal" and outcome.fatal.rule.name == "engine-died"
    assert 13 <= outcome.seconds <= 14


def test_watch_reports_an_exit_without_a_known_error():
    clock = Clock()
    dead = State(running=False, exit_code=137, oom_killed=True)
    script = Script(clock, lines={5: [shards(3)]}, states={40: dead})
    outcome, _ = run_watch(script, clock)
    assert outcome.status == "exited" and outcome.state == dead
    assert outcome.seconds <= 41


def test_watch_reads_the_last_words_of_an_engine_that_exits():
    clock = Clock()
    # the line and the exit land between two polls
    script = Script(clock, lines={20.5: [CAUSE]}, states={20.5: State(running=False, exit_code=1)})
    outcome, _ = run_watch(script, clock)
    assert outcome.status == "fatal" and outcome.fatal.rule.name == "kv-cache-no-memory"


def test_watch_treats_a_restart_as_an_exit():
    clock = Clock()
    script = Script(clock, states={0: State(running=True, restarts=0), 30: State(running=True, restarts=1)})
    outcome, _ = run_watch(script, clock)
    assert outcome.status == "exited" and outcome.seconds <= 31


def test_watch_is_done_when_the_log_says_the_engine_serves():
    clock = Clock()
    script = Script(clock, lines={100: ["(APIServer pid=1) INFO:     Application startup complete."]})
    outcome, out = run_watch(script, clock)
    assert (outcome.status, outcome.reason) == ("ready", "log")
    assert outcome.seconds <= 101
    assert out[-1].endswith("serving")


def test_watch_is_done_when_the_healthcheck_passes():
    clock = Clock()
    script = Script(clock, states={50: State(running=True, health="healthy")})
    outcome, _ = run_watch(script, clock, engine="sglang")
    assert (outcome.status, outcome.reason) == ("ready", "healthcheck")


def test_watch_warns_once_about_unhealthy_and_keeps_waiting():
    clock = Clock()
    script = Script(clock, states={10: State(running=True, health="unhealthy")},
                    lines={30: ["[2026-02-12 10:06:45] The server is fired up and ready to roll!"]})
    outcome, out = run_watch(script, clock, engine="sglang")
    assert outcome.status == "ready"
    assert sum("unhealthy" in line for line in out) == 1


def test_watch_times_out():
    clock = Clock()
    outcome, _ = run_watch(Script(clock), clock, timeout=60)
    assert outcome.status == "timeout" and 60 <= outcome.seconds <= 61


# --- the Docker side, without Docker ---------------------------------------------------------


class FakeContainer:
    """Enough of docker's Container for DockerSource: timestamped log entries and a state."""

    def __init__(self, started, entries):
        self.attrs = {"State": {"Status": "running", "StartedAt": started, "ExitCode": 0},
                      "RestartCount": 0}
        self.entries = entries  # [(stamp, message)]
        self.since = []

    def reload(self):
        pass

    def logs(self, stdout, stderr, timestamps, since):
        assert stdout and stderr and timestamps
        self.since.append(since)
        floor = since * 1_000_000_000
        chosen = [f"{s} {m}\n" for s, m in self.entries if up._ns(s) >= floor]
        return "".join(chosen).encode()


def test_docker_source_reads_each_entry_once_and_only_this_run():
    container = FakeContainer("2026-02-12T10:00:00.5Z", [
        ("2026-02-12T09:58:00.000000001Z", "old run: torch.OutOfMemoryError: CUDA out of memory."),
        ("2026-02-12T10:00:00.5Z", "first"),
        ("2026-02-12T10:00:00.5Z", "second, same stamp"),
    ])
    source = up.DockerSource(container)
    assert source.new_lines() == ["first", "second, same stamp"]
    assert source.new_lines() == []
    container.entries += [("2026-02-12T10:00:00.5Z", "third, same stamp"),
                          ("2026-02-12T10:00:01.25Z", "bar 10%\rbar 20%")]
    assert source.new_lines() == ["third, same stamp", "bar 10%", "bar 20%"]
    assert source.new_lines() == []
    # stderr's copier stamped this one earlier than the last stdout entry, but wrote it later
    container.entries.insert(3, ("2026-02-12T10:00:00.9Z", "torch.OutOfMemoryError: CUDA out of memory."))
    assert source.new_lines() == ["torch.OutOfMemoryError: CUDA out of memory."]
    assert source.new_lines() == []
    assert all(isinstance(s, int) for s in container.since)


def test_docker_timestamps():
    assert up._ns("2026-02-12T10:00:00Z") + 5 == up._ns("2026-02-12T10:00:00.000000005Z")
    assert up._ns("2026-02-12T10:00:00.5Z") == up._ns("2026-02-12T10:00:00.500000000Z")


def test_failure_report_names_line_hint_tail_and_how_to_stop(capsys):
    _, follower = replay("sglang", lines_of("sglang-cuda-oom.log"))
    outcome = Outcome("fatal", 754.0, follower.fatal, None, tuple(follower.tail))
    code = up.report_failure(outcome, "compose/sglang.yaml", "engine", "sglang")
    out = capsys.readouterr().out
    assert code == up.EXIT_FATAL
    assert "cuda-oom" in out and "torch.OutOfMemoryError" in out
    assert "hint: lower --mem-fraction-static" in out
    assert "docker compose -f compose/sglang.yaml logs -f engine" in out and "make down" in out
    assert out.count("\n  | ") == len(follower.tail) == 20


def test_exit_report_says_oom_killer(capsys):
    outcome = Outcome("exited", 60.0, None, State(running=False, exit_code=137, oom_killed=True), ("x",))
    assert up.report_failure(outcome, "f.yaml", "engine", "vllm") == up.EXIT_EXITED
    assert "exited with code 137" in capsys.readouterr().out


def test_exit_codes_are_distinct_and_clear_of_the_sidecars():
    codes = [up.EXIT_FATAL, up.EXIT_EXITED, up.EXIT_TIMEOUT, up.EXIT_DOCKER, up.EXIT_INTERRUPTED]
    assert len(set(codes)) == len(codes)
    assert not set(codes) & {0, 1, 2, 3}  # the sidecar's verdicts pass through


def test_cli_help_documents_the_exit_codes():
    result = CliRunner().invoke(up.main, ["--help"])
    assert result.exit_code == 0
    for code in ("10", "11", "12", "13", "130"):
        assert f"\n    {code} " in result.output


def test_cli_missing_compose_file_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(up.main, ["--compose-file", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2


def test_watch_says_it_is_still_waiting_after_a_quiet_spell():
    clock = Clock()
    script = Script(clock, lines={5: ["(Worker_TP0 pid=445) INFO 02-12 09:15:11 [gpu_model_runner.py:2602] Starting to load model zai-org/GLM-5-FP8..."]},
                    states={0: State(running=True), 700: State(running=False, exit_code=1)})
    out = []
    watch(script, Follower(VLLM), out.append, timeout=3600, quiet=300, poll=1.0,
          clock=clock, sleep=clock.sleep)
    still = [line for line in out if "still here" in line]
    assert len(still) == 2  # at ~305 s and ~605 s
    assert still[0].startswith("[ 5:05] weights")
    assert "after 5:00 in this phase; the engine last logged 5:00 ago" in still[0]


def test_watch_shows_what_the_probe_reports_while_the_log_is_silent():
    clock = Clock()
    script = Script(clock, states={95: State(running=False, exit_code=1)})
    calls = []

    def probe(phase):
        calls.append(phase)
        return f"downloading: {len(calls)} GB"

    out = []
    watch(script, Follower(VLLM), out.append, timeout=3600, probe=probe, probe_every=30,
          clock=clock, sleep=clock.sleep)
    assert [line.split("] ", 1)[1] for line in out] == [
        f"starting   downloading: {n} GB" for n in (1, 2, 3)]


def test_hf_cache_of_the_rendered_engine_and_its_growth(tmp_path):
    service = {"volumes": [
        {"type": "bind", "source": str(tmp_path), "target": "/root/.cache/huggingface"},
        {"type": "volume", "source": "jit-cache", "target": "/cache"}]}
    hub = up.hf_hub_of(service)
    assert hub == tmp_path / "hub"
    assert up.hf_hub_of({"volumes": [{"type": "volume", "source": "hf", "target": "/root/.cache/huggingface"}]}) is None

    blobs = hub / "models--zai-org--GLM-5-FP8" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / "a").write_bytes(b"x" * 1000)
    clock = Clock()
    growth = up.CacheGrowth(hub, clock=clock)
    clock.now = 10
    assert growth("weights") is None  # nothing new
    (blobs / "b.incomplete").write_bytes(b"x" * 5000)  # huggingface_hub's partial download
    snap = hub / "models--zai-org--GLM-5-FP8" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    (snap / "model.safetensors").symlink_to(blobs / "a")  # not counted twice
    clock.now = 20
    assert up.tree_size(hub) == 6000
    assert growth("weights") == f"downloading: 0.0 GB in {hub} (+0 MB/s)"
    (blobs / "c").write_bytes(b"x")
    assert growth("loading") is None  # only while fetching weights


# --- `docker compose up` failures ------------------------------------------------------------

# What the daemon said, as seen on this project's machines (and research/ci-environment.md).
UP_FAILURES = {
    "no-gpu-runtime": 'Error response from daemon: could not select device driver "nvidia" with capabilities: [[gpu]]',
    "ulimit-denied": "Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 8: operation not permitted: unknown",
    "docker-too-old": " Container glm5-up-test-748a74ae-engine-1  can't set healthcheck.start_interval as feature require Docker Engine v25 or later",
    "image-not-found": "Error response from daemon: pull access denied for vllm/vllm-openai, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
    "registry-unreachable": 'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host',
    "port-in-use": "Error response from daemon: driver failed programming external connectivity on endpoint glm5-vllm-engine-1: Bind for 127.0.0.1:8000 failed: port is already allocated",
}


def test_each_compose_up_failure_is_named_by_its_own_rule_only():
    from stack.logrules import COMPOSE_UP

    assert sorted(rule.name for rule in COMPOSE_UP) == sorted(UP_FAILURES)
    for name, line in UP_FAILURES.items():
        assert [rule.name for rule in COMPOSE_UP if rule.pattern.search(line)] == [name]
