"""Every rendered engine command is accepted by the real vLLM / SGLang argument parsers.

The files judged are the goldens of recipe.goldens.MATRIX and the checked-in default renders,
as the Compose v2 loader resolves them (stack.rendered; how the argv is written, as lists of
strings, is tests/test_compose.py's); the values the engine parsed
must be the profile's. Negative cases (mutated copies of the default renders) prove each check
can fail. Run with `make conformance`, which builds both engine venvs first.
"""

import re
from pathlib import Path

import pytest
import yaml

from recipe.engines import ENGINES
from recipe.goldens import GOLDEN_DIR, MATRIX, NODES_MATRIX
from recipe.profile import Profile
from stack.rendered import load_render

from engine_runs import ROOT, Checker, mutate

CHECKED_IN = ("compose/vllm.yaml", "compose/sglang.yaml")


def _cases() -> dict[str, tuple[Path, Profile, int]]:
    """name -> (file, profile, rank): rank is the host a two-host file starts (0: the head)."""
    cases = {name: (ROOT / GOLDEN_DIR / f"{name}.yaml", p, 0) for name, p in MATRIX.items()}
    for name, p in NODES_MATRIX.items():
        for rank in range(p.nodes):
            cases[f"{name}-node{rank}"] = (ROOT / GOLDEN_DIR / f"{name}-node{rank}.yaml", p, rank)
    for rel in CHECKED_IN:
        cases[rel] = (ROOT / rel, load_render(ROOT / rel).profile, 0)
    return cases


CASES = _cases()


def _flag_value(flag: str, value):
    """Edit: set the argument after `flag` in the engine command."""
    def edit(svc):
        svc["command"][svc["command"].index(flag) + 1] = value
    return edit


def _rename_flag(flag: str, new: str):
    def edit(svc):
        svc["command"][svc["command"].index(flag)] = new
    return edit


def _set(key: str, value):
    def edit(svc):
        svc[key] = value
    return edit


def _model_as_flag(svc):
    """vLLM: the model moved from the positional model_tag to a trailing --model flag."""
    model = svc["command"].pop(0)
    svc["command"] += ["--model", model]


# name -> (engine, edit of the default render's engine service, text the rejection must contain)
NEGATIVES = {
    "vllm-misspelled-flag": ("vllm", _rename_flag("--tensor-parallel-size", "--tensor-paralel-size"),
                             "--tensor-paralel-size"),
    "vllm-unknown-tool-parser": ("vllm", _flag_value("--tool-call-parser", "glm99"), "glm99"),
    "vllm-unknown-reasoning-parser": ("vllm", _flag_value("--reasoning-parser", "glm99"), "glm99"),
    "vllm-non-integer-tp": ("vllm", _flag_value("--tensor-parallel-size", "8.5"), "8.5"),
    "vllm-unknown-speculative-method": ("vllm", _flag_value("--speculative-config.method", "mtp9"), "mtp9"),
    "vllm-model-not-positional": ("vllm", _model_as_flag, "first command item must be the model"),
    "vllm-wrong-entrypoint": ("vllm", _set("entrypoint", ["python3", "-m", "vllm.entrypoints.openai.api_server"]),
                              "entrypoint"),
    "sglang-misspelled-flag": ("sglang", _rename_flag("--tp-size", "--tp-sise"), "--tp-sise"),
    "sglang-unknown-tool-parser": ("sglang", _flag_value("--tool-call-parser", "glm99"), "glm99"),
    "sglang-unknown-reasoning-parser": ("sglang", _flag_value("--reasoning-parser", "glm99"), "glm99"),
    "sglang-non-integer-tp": ("sglang", _flag_value("--tp-size", "8.5"), "8.5"),
    "sglang-unknown-speculative-algorithm": ("sglang", _flag_value("--speculative-algorithm", "EAGLE9"), "EAGLE9"),
    "sglang-wrong-entrypoint": ("sglang", _set("entrypoint", ["vllm", "serve"]), "entrypoint"),
    # Two hosts: the worker's files.
    "vllm-nnodes-not-a-number": ("vllm", _flag_value("--nnodes", "two"), "two", "vllm-fp8-2x8h100-node1"),
    "sglang-node-rank-not-a-number": ("sglang", _flag_value("--node-rank", "one"), "one",
                                      "sglang-fp8-2x8h100-node1"),
}

# Accepted by the engine, but not what the default profile says: the value comparison must catch
# them. name -> (engine, edit of the default render, the parsed value that differs)
WRONG_VALUES = {
    "vllm-tp4": ("vllm", _flag_value("--tensor-parallel-size", "4"), "tensor_parallel_size"),
    "vllm-mtp2": ("vllm", _flag_value("--speculative-config.num_speculative_tokens", "2"), "speculative_config"),
    "sglang-steps2": ("sglang", _flag_value("--speculative-num-steps", "2"), "speculative_num_steps"),
    "vllm-kv-fp8-lost": ("vllm", _flag_value("--kv-cache-dtype", "auto"), "kv_cache_dtype", "vllm-passthrough"),
    "sglang-max-running-lost": ("sglang", _flag_value("--max-running-requests", "64"), "max_running_requests",
                                "sglang-passthrough"),
    "sglang-host-local": ("sglang", _flag_value("--host", "127.0.0.1"), "host"),
    # Two hosts: a worker that would claim the head's rank, or not be headless, or look for the
    # head elsewhere; the engine takes each, the comparison with the profile must not.
    # vLLM's parser takes any executor (a class path is allowed too).
    "vllm-worker-ray": ("vllm", _flag_value("--distributed-executor-backend", "ray"),
                        "distributed_executor_backend", "vllm-fp8-2x8h100-node1"),
    "vllm-worker-rank0": ("vllm", _flag_value("--node-rank", "0"), "node_rank", "vllm-fp8-2x8h100-node1"),
    "vllm-worker-not-headless": ("vllm", lambda svc: svc["command"].remove("--headless"), "headless",
                                 "vllm-fp8-2x8h100-node1"),
    "vllm-worker-other-head": ("vllm", _flag_value("--master-addr", "10.0.0.9"), "master_addr",
                               "vllm-fp8-2x8h100-node1"),
    "sglang-worker-other-port": ("sglang", _flag_value("--dist-init-addr", "10.0.0.1:20001"),
                                 "dist_init_addr", "sglang-fp8-2x8h100-node1"),
}


def _source(spec: tuple) -> str:
    """The golden a negative case mutates: its engine's default render unless it names one."""
    return spec[3] if len(spec) > 3 else f"{spec[0]}-default"


@pytest.fixture(scope="session")
def negative_files(tmp_path_factory) -> dict[str, Path]:
    """Mutated copies of each engine's default render, one per negative case."""
    out = tmp_path_factory.mktemp("negative")
    return {name: mutate(ROOT / GOLDEN_DIR / f"{_source(spec)}.yaml", out / f"{name}.yaml", spec[1])
            for name, spec in {**NEGATIVES, **WRONG_VALUES}.items()}


@pytest.fixture(scope="session")
def checkers(negative_files) -> dict[str, Checker]:
    """One checker per engine over all its files; each process starts when first needed."""
    files = {engine: [] for engine in ENGINES}
    for path, p, _ in CASES.values():
        files[p.engine].append(path)
    for name, path in negative_files.items():
        files[{**NEGATIVES, **WRONG_VALUES}[name][0]].append(path)
    running = {engine: Checker(engine, fs).start() for engine, fs in files.items()}
    yield running
    for checker in running.values():
        checker.stop()


def accepted(checkers, name) -> dict:
    path, p, _ = CASES[name]
    v = checkers[p.engine].verdict(path)
    assert v["ok"], f"{p.engine} rejects {path.relative_to(ROOT)}: {v['error']}\n  argv: {v['argv']}"
    return v


def host_network(p: Profile) -> bool:
    return p.nodes > 1 and p.target.node_network is None


def expected_vllm(p: Profile, rank: int = 0) -> dict:
    spec = None
    if p.speculative == "mtp":
        spec = {"method": "mtp", "num_speculative_tokens": p.spec_tokens}
    want = {
        "model_tag": p.model,
        "tensor_parallel_size": p.tp,
        "speculative_config": spec,
        "tool_call_parser": p.tool_call_parser,
        "enable_auto_tool_choice": True,
        "served_model_name": [p.served_model_name],
        "max_model_len": p.max_model_len,
        # Host networking (two GPU hosts): the engine itself listens on --bind:--port.
        "port": p.port if host_network(p) else ENGINES["vllm"].port,
        "pipeline_parallel_size": p.pp,
        "nnodes": p.nodes,
        "node_rank": rank,
        "headless": rank > 0,
    }
    if host_network(p):
        want["host"] = p.bind
    if p.nodes > 1:
        # recipes PR #394: the mp executor, the head's address, ParallelConfig's default port.
        want.update(distributed_executor_backend="mp", master_addr=p.head_address, master_port=29501)
    if p.reasoning_parser != "none":
        want["reasoning_parser"] = p.reasoning_parser
    if p.mem_fraction is not None:
        want["gpu_memory_utilization"] = p.mem_fraction
    if p.max_num_seqs is not None:
        want["max_num_seqs"] = p.max_num_seqs
    want["kv_cache_dtype"] = ENGINES["vllm"].kv_dtypes[p.kv_cache_dtype]
    if p.rehearsal:  # vLLM on a CPU: bf16 (the tiny model's dtype); no CUDA graphs
        want.update(dtype="bfloat16", enforce_eager=p.pp == 1)
    return want


def expected_sglang(p: Profile, rank: int = 0) -> dict:
    want = {
        "model_path": p.model,
        "tp_size": p.tp,
        "pp_size": p.pp,
        "tool_call_parser": p.tool_call_parser,
        "served_model_name": p.served_model_name,
        "context_length": p.max_model_len,
        # SGLang's default 127.0.0.1 is unreachable from outside the container; on host
        # networking (two hosts) the engine listens where --bind says.
        "host": p.bind if host_network(p) else "0.0.0.0",
        "port": p.port if host_network(p) else ENGINES["sglang"].port,
        "enable_metrics": True,
        "nnodes": p.nodes,
        "node_rank": rank,
        "dist_init_addr": f"{p.head_address}:20000" if p.nodes > 1 else None,
    }
    if p.speculative == "eagle":
        # GLM's MTP layer as EAGLE draft: n steps, top-k 1, n + 1 draft tokens.
        want.update(speculative_algorithm="EAGLE", speculative_num_steps=p.spec_tokens,
                    speculative_eagle_topk=1, speculative_num_draft_tokens=p.spec_tokens + 1)
    else:
        want.update(speculative_algorithm=None, speculative_num_steps=None,
                    speculative_eagle_topk=None, speculative_num_draft_tokens=None)
    if p.reasoning_parser != "none":
        want["reasoning_parser"] = p.reasoning_parser
    if p.mem_fraction is not None:
        want["mem_fraction_static"] = p.mem_fraction
    if p.max_num_seqs is not None:
        want["max_running_requests"] = p.max_num_seqs
    want["kv_cache_dtype"] = ENGINES["sglang"].kv_dtypes[p.kv_cache_dtype]
    return want


EXPECTED = {"vllm": expected_vllm, "sglang": expected_sglang}
# Flags that must be absent when the profile leaves the value to the engine.
OMITTED = {
    "reasoning_parser": lambda p: ENGINES[p.engine].reasoning_parser_flag if p.reasoning_parser == "none" else None,
    "mem_fraction": lambda p: ENGINES[p.engine].mem_flag if p.mem_fraction is None else None,
    "max_model_len": lambda p: ENGINES[p.engine].context_flag if p.max_model_len is None else None,
}


def test_every_matrix_profile_has_a_golden():
    for name in MATRIX:
        assert (ROOT / GOLDEN_DIR / f"{name}.yaml").is_file(), f"no golden for {name}: run `make golden`"


@pytest.mark.parametrize("name", sorted(CASES))
def test_engine_accepts_the_rendered_command(checkers, name):
    accepted(checkers, name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_parsed_values_are_the_profiles(checkers, name):
    _, p, rank = CASES[name]
    v = accepted(checkers, name)
    want = EXPECTED[p.engine](p, rank)
    got = {k: v["values"][k] for k in want}
    assert got == want, f"{name}: the engine parsed other values than the profile's"
    for flag in filter(None, (rule(p) for rule in OMITTED.values())):
        assert flag not in v["argv"], f"{name}: {flag} rendered though the profile leaves it to the engine"


# What the passthrough goldens append with --engine-args, as the engine parsed it.
PASSTHROUGH = {
    "vllm-passthrough": {"max_num_batched_tokens": 16384, "enable_prefix_caching": True},
    "sglang-passthrough": {"chunked_prefill_size": 8192, "watchdog_timeout": 1200},
}


@pytest.mark.parametrize("name", sorted(PASSTHROUGH))
def test_engine_args_reach_the_engine_after_the_recipe(checkers, name):
    v = accepted(checkers, name)
    assert {k: v["values"][k] for k in PASSTHROUGH[name]} == PASSTHROUGH[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_traffic_goes_to_the_port_the_engine_listens_on(checkers, name):
    """Published port, healthcheck and sidecar (or, with --gateway, nginx's upstream) all target
    the port the engine parsed."""
    path, p, rank = CASES[name]
    listens = accepted(checkers, name)["values"]["port"]
    render = yaml.safe_load(path.read_text())
    services = render["services"]
    engine = services["engine"]
    for mapping in engine.get("ports", []):
        assert int(str(mapping).split("/")[0].rsplit(":", 1)[-1]) == listens, f"{name}: ports {mapping}"
    if rank > 0:  # a worker serves no API: no probe, no sidecar
        assert "healthcheck" not in engine and "smoke" not in services
        return
    health = " ".join(engine["healthcheck"]["test"])
    assert re.search(rf":{listens}/health\b", health), f"{name}: healthcheck {health!r} misses port {listens}"
    if "gateway" in services:
        conf = services["gateway"]["environment"]["GATEWAY_NGINX_CONF"]
        assert f"set $$engine engine:{listens};" in conf, f"{name}: the gateway's upstream misses port {listens}"
        return
    smoke_url = services["smoke"]["environment"]["SMOKE_BASE_URL"]
    assert smoke_url.rstrip("/").endswith(f":{listens}"), f"{name}: SMOKE_BASE_URL {smoke_url}"


@pytest.mark.parametrize("name", sorted(NEGATIVES))
def test_negative_case_is_rejected(checkers, negative_files, name):
    engine, _, needle = NEGATIVES[name][:3]
    v = checkers[engine].verdict(negative_files[name])
    assert not v["ok"], f"{name} was accepted: {v['values']}"
    assert needle in v["error"], f"{name} rejected for another reason: {v['error']}"


@pytest.mark.parametrize("name", sorted(WRONG_VALUES))
def test_a_wrong_value_the_engine_accepts_is_caught(checkers, negative_files, name):
    engine, _, key = WRONG_VALUES[name][:3]
    v = checkers[engine].verdict(negative_files[name])
    assert v["ok"], f"{name}: expected the engine to accept it: {v['error']}"
    _, p, rank = CASES[_source(WRONG_VALUES[name])]
    want = EXPECTED[engine](p, rank)
    assert v["values"][key] != want[key]


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_rendered_parser_names_are_registered(checkers, engine):
    """The names the profile may render (recipe.profile's choices) exist in the engine."""
    from recipe.profile import REASONING_PARSERS, TOOL_PARSERS

    regs = checkers[engine].report["registries"]
    assert set(TOOL_PARSERS) <= set(regs["tool_call_parser"])
    assert set(REASONING_PARSERS) - {"none"} <= set(regs["reasoning_parser"])


# --- --engine-args: what the generator owns, and the flag lists, against the parsers ---------

def _groups(checkers, engine):
    report = checkers[engine].report
    return ENGINES[engine], report["registries"]["option_groups"], report["version"].split("+")[0]


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_spelling_of_an_owned_flag_is_owned(checkers, engine):
    """An action holding a flag the generator renders (or lifts) holds no spelling it would let
    through --engine-args (SGLang's --tensor-parallel-size beside --tp-size)."""
    spec, actions, _ = _groups(checkers, engine)
    owned = lambda s: bool(spec.owner_of(s)) or s in spec.lifted_flags  # noqa: E731
    for strings in actions:
        if any(map(owned, strings)):
            free = [s for s in strings if not owned(s)]
            assert not free, (f"{spec.label}: {free} spell a flag the generator renders "
                              f"({[s for s in strings if owned(s)]}): add them to `aliases` in recipe/engines.py")


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_owned_flag_is_a_flag_of_the_engine(checkers, engine):
    spec, actions, _ = _groups(checkers, engine)
    known = {s for strings in actions for s in strings}
    for flag in [*spec.owned_flags(), *spec.lifted_flags]:
        assert flag in known, f"{spec.label} has no {flag}: recipe/engines.py names a flag the engine lacks"


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_the_flag_list_is_what_the_parser_accepts(checkers, engine):
    """recipe/flags/<engine>-<version>.txt, which --engine-args is checked against, is exactly the
    option strings of this venv's parser (regenerate it from the parser when this fails)."""
    from recipe import passthrough

    spec, actions, version = _groups(checkers, engine)
    listed = passthrough.known_flags(spec.name, version)
    parsed = {s for strings in actions for s in strings}
    assert listed == parsed, (f"recipe/flags/{spec.name}-{version}.txt disagrees with the parser: listed only "
                              f"{sorted(listed - parsed)}, parser only {sorted(parsed - listed)}")
