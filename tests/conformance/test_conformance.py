"""Every rendered engine command is accepted by the argument parser of the engine version
its image runs (recipe/releases.py: the row's `checked_with`; the newest for an unknown image).

The files judged are the goldens of recipe.goldens.MATRIX and the checked-in default renders,
as the Compose v2 loader resolves them (stack.rendered; how the argv is written, as lists of
strings, is tests/test_compose.py's); the values the engine parsed
must be the profile's. Negative cases (mutated copies of the renders) prove each check can
fail, and that a flag spelled for another release is rejected by this one's parser. Run with
`make conformance`, which builds every engine version's venv first.
"""

import os
import re
from pathlib import Path

import pytest
import yaml

from recipe.engines import ENGINES
from recipe.goldens import GOLDEN_DIR, MATRIX, NODES_MATRIX
from recipe.profile import Profile, target_recipe
from recipe.releases import DEFAULTS, NEWEST, RELEASES, dialect
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


def _env(name: str, value: str):
    def edit(svc):
        svc["environment"][name] = value
    return edit


def _append(*args: str):
    def edit(svc):
        svc["command"] += list(args)
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
    # SGLang has a glm47 tool parser but no glm47 reasoning parser (sglang PR #26384): glm45 it is.
    "sglang-glm47-reasoning-parser": ("sglang", _flag_value("--reasoning-parser", "glm47"), "glm47"),
    "sglang-non-integer-tp": ("sglang", _flag_value("--tp-size", "8.5"), "8.5"),
    "sglang-unknown-speculative-algorithm": ("sglang", _flag_value("--speculative-algorithm", "EAGLE9"), "EAGLE9"),
    "sglang-wrong-entrypoint": ("sglang", _set("entrypoint", ["vllm", "serve"]), "entrypoint"),
    # Two hosts: the worker's files.
    "vllm-nnodes-not-a-number": ("vllm", _flag_value("--nnodes", "two"), "two", "vllm-fp8-2x8h100-node1"),
    "sglang-node-rank-not-a-number": ("sglang", _flag_value("--node-rank", "one"), "one",
                                      "sglang-fp8-2x8h100-node1"),
    # A GPU recipe's environment: vLLM's envs.py takes skip, full or relax.
    "vllm-deep-gemm-warmup-misspelled": ("vllm", _env("VLLM_DEEP_GEMM_WARMUP", "skipp"), "VLLM_DEEP_GEMM_WARMUP",
                                         "vllm-b200"),
    # Why the B200 recipe flags are not rendered on the launch images (catalog.Recipe.since):
    # what their version is checked with has no trtllm DSA backend and no dsa attention backend.
    "sglang-launch-image-no-trtllm-dsa": ("sglang", _append("--nsa-decode-backend", "trtllm"), "trtllm",
                                          "sglang-b200"),
    "sglang-launch-image-no-dsa-attention": ("sglang", _append("--attention-backend", "dsa"), "dsa",
                                             "sglang-b200"),
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


def _version_negatives() -> dict:
    """A flag spelled for another release (recipe/releases.py `renamed`), rendered into the golden
    of a row whose version does not list it (recipe/flags/), must be that version's parser's
    rejection: name -> (golden, flag)."""
    out, seen = {}, set()
    for r in RELEASES.values():
        spellings = {s for o in RELEASES.values() if o.engine == r.engine for pair in o.renamed.items() for s in pair}
        listed = set((ROOT / "recipe" / "flags" / r.flags_file).read_text().split())
        golden = f"{r.engine}-default" if r.default else r.name
        for flag in sorted(spellings - listed):
            if golden in MATRIX and (r.engine, r.checked_with, flag) not in seen:
                seen.add((r.engine, r.checked_with, flag))
                out[f"{r.name}:{flag}"] = (golden, flag)
    return out


VERSION_NEGATIVES = _version_negatives()


def key(p: Profile) -> tuple[str, str]:
    """(engine, version) of the parser that judges a render of this profile."""
    return p.engine, dialect(p.engine, p.image).checked_with


@pytest.fixture(scope="session")
def negative_files(tmp_path_factory) -> dict[str, Path]:
    """Mutated copies of the renders, one per negative case."""
    out = tmp_path_factory.mktemp("negative")
    files = {name: mutate(ROOT / GOLDEN_DIR / f"{_source(spec)}.yaml", out / f"{name}.yaml", spec[1])
             for name, spec in {**NEGATIVES, **WRONG_VALUES}.items()}
    for name, (golden, flag) in VERSION_NEGATIVES.items():
        files[name] = mutate(ROOT / GOLDEN_DIR / f"{golden}.yaml", out / f"{name}.yaml", _append(flag, "tilelang"))
    return files


def negative_key(name: str) -> tuple[str, str]:
    """The version that judges a negative case: the one its source golden is judged by."""
    if name in VERSION_NEGATIVES:
        return key(MATRIX[VERSION_NEGATIVES[name][0]])
    return key(CASES[_source({**NEGATIVES, **WRONG_VALUES}[name])][1])


# make conformance-all: the renders for an image whose version is a range are judged by both ends.
EVERY = bool(os.environ.get("CONFORMANCE_ALL"))


def range_ends(p: Profile) -> list[tuple[str, str]]:
    return [(p.engine, v) for v in dialect(p.engine, p.image).also_checked_with] if EVERY else []


@pytest.fixture(scope="session")
def checkers(negative_files) -> dict[tuple[str, str], Checker]:
    """One checker per engine version over all its files; each process starts when first needed."""
    files: dict[tuple[str, str], list[Path]] = {}
    for path, p, _ in CASES.values():
        for k in (key(p), *range_ends(p)):
            files.setdefault(k, []).append(path)
    for name, path in negative_files.items():
        files.setdefault(negative_key(name), []).append(path)
    running = {k: Checker(*k, fs).start() for k, fs in files.items()}
    yield running
    for checker in running.values():
        checker.stop()


def accepted(checkers, name) -> dict:
    path, p, _ = CASES[name]
    v = checkers[key(p)].verdict(path)
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
    # The GPU's recipe (catalog.Recipe), flag-value pairs; without it, no backend or
    # quantization is asked for (the engine picks them; an FP8 checkpoint says FP8 itself).
    recipe = dict(zip(target_recipe(p)[0][::2], target_recipe(p)[0][1::2]))
    want.update(attention_backend=None, quantization=None)
    want.update({flag.removeprefix("--").replace("-", "_"): value for flag, value in recipe.items()})
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


@pytest.mark.parametrize("name", sorted(n for n, (_, p, _) in CASES.items() if target_recipe(p)[1]))
def test_the_gpu_recipes_environment_is_what_the_engine_reads(checkers, name):
    """vLLM judges the VLLM_* variables (conformance/vllm.py check_env); the recipe's must be read
    as rendered."""
    _, p, _ = CASES[name]
    read = accepted(checkers, name)["values"]["env"]
    assert {k: read.get(k) for k in target_recipe(p)[1]} == target_recipe(p)[1]


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
    v = checkers[negative_key(name)].verdict(negative_files[name])
    assert not v["ok"], f"{name} was accepted: {v['values']}"
    assert needle in v["error"], f"{name} rejected for another reason: {v['error']}"


@pytest.mark.parametrize("name", sorted(WRONG_VALUES))
def test_a_wrong_value_the_engine_accepts_is_caught(checkers, negative_files, name):
    engine, _, field = WRONG_VALUES[name][:3]
    v = checkers[negative_key(name)].verdict(negative_files[name])
    assert v["ok"], f"{name}: expected the engine to accept it: {v['error']}"
    _, p, rank = CASES[_source(WRONG_VALUES[name])]
    want = EXPECTED[engine](p, rank)
    assert v["values"][field] != want[field]


@pytest.mark.parametrize("name", sorted(VERSION_NEGATIVES))
def test_a_flag_of_another_release_is_rejected_by_this_one(checkers, negative_files, name):
    golden, flag = VERSION_NEGATIVES[name]
    engine, version = negative_key(name)
    v = checkers[(engine, version)].verdict(negative_files[name])
    assert not v["ok"], f"{engine} {version} accepted {flag} ({name}): {v['values']}"
    assert flag in v["error"], f"{name} rejected for another reason: {v['error']}"


def test_renamed_flags_are_exercised_on_both_sides():
    """At least one old spelling rejected by the newest SGLang and one new spelling by the oldest."""
    assert any(k.startswith(NEWEST["sglang"].name + ":--nsa-") for k in VERSION_NEGATIVES), VERSION_NEGATIVES
    assert any(k.startswith(DEFAULTS["sglang"].name + ":--dsa-") for k in VERSION_NEGATIVES), VERSION_NEGATIVES


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_entrypoint_is_the_images_own(checkers, name):
    _, p, _ = CASES[name]
    v = accepted(checkers, name)
    want = list(dialect(p.engine, p.image).entrypoint)
    assert v["argv"][:len(want)] == want, f"{name}: entrypoint {v['argv'][:len(want)]}, the image runs {want}"


def _accepted_parser_names() -> list[tuple[str, str, str]]:
    """(catalog row, kind, name) for every parser name the profile accepts for that row's image."""
    from recipe.errors import RecipeError
    from recipe.profile import REASONING_PARSERS, TOOL_PARSERS, build

    out = []
    for r in RELEASES.values():
        for kind, choices in (("tool_call_parser", TOOL_PARSERS), ("reasoning_parser", REASONING_PARSERS)):
            for name in choices:
                if name == "none":
                    continue
                try:
                    if r.cuda is None:
                        build(rehearsal=True, **{kind: name})
                    else:
                        build(engine=r.engine, image=r.name, gpu_type=(r.targets or ("h200",))[0], **{kind: name})
                except RecipeError:
                    continue  # refused at render time for this image: nothing to register
                out.append((r.name, kind, name))
    return out


@pytest.mark.parametrize("row,kind,name", _accepted_parser_names())
def test_every_parser_name_the_profile_accepts_is_registered_in_that_version(checkers, row, kind, name):
    r = RELEASES[row]
    checker = checkers.get((r.engine, r.checked_with))
    assert checker is not None, f"no render of {r.engine} {r.checked_with} is judged: add a golden for {row}"
    assert name in checker.report["registries"][kind], f"{r.engine} {r.checked_with} has no {kind} {name}"


@pytest.mark.parametrize("name", sorted(n for n, (_, p, _) in CASES.items() if range_ends(p)))
def test_the_other_end_of_a_version_range_accepts_the_render_too(checkers, name):
    path, p, _ = CASES[name]
    for k in range_ends(p):
        v = checkers[k].verdict(path)
        assert v["ok"], f"{k[0]} {k[1]} rejects {path.relative_to(ROOT)}: {v['error']}"


def test_flag_and_parser_data_are_what_each_version_accepts(checkers):
    """recipe/flags/<engine>-<version>.txt and .parsers.txt equal what that version's own parser
    and registries report (the checker's report carries both). `make flags` rewrites them."""
    flags = ROOT / "recipe" / "flags"
    for (engine, version), checker in sorted(checkers.items()):
        report = checker.report
        for suffix, got in ((".txt", report["options"]), (".parsers.txt", report["parser_lines"])):
            path = flags / f"{engine}-{version}{suffix}"
            assert path.is_file(), f"no {path.relative_to(ROOT)}: run `make flags`"
            data = path.read_text().splitlines()
            assert data == got, (f"{path.relative_to(ROOT)} disagrees with {engine} {version}: only in the file "
                                 f"{sorted(set(data) - set(got))}, only in the engine {sorted(set(got) - set(data))}; "
                                 "run `make flags`")


def test_every_version_the_catalog_names_is_judged(checkers):
    from recipe.releases import checked_versions

    want = {(e, v) for e in ENGINES for v in checked_versions(e, every=EVERY)}
    assert set(checkers) == want, "a catalog version has no golden rendered for it, or a golden no catalog version"


# --- --engine-args: what the generator owns, and the flag lists, against the parsers ---------

def _groups(checkers, engine):
    """(spec, [(version, option groups)]) over every version of the engine that is judged."""
    return ENGINES[engine], [(v, c.report["registries"]["option_groups"])
                             for (e, v), c in sorted(checkers.items()) if e == engine]


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_spelling_of_an_owned_flag_is_owned(checkers, engine):
    """An action holding a flag the generator renders (or lifts) holds no spelling it would let
    through --engine-args (SGLang's --tensor-parallel-size beside --tp-size)."""
    spec, versions = _groups(checkers, engine)
    owned = lambda s: bool(spec.owner_of(s)) or s in spec.lifted_flags  # noqa: E731
    for version, actions in versions:
        for strings in actions:
            if any(map(owned, strings)):
                free = [s for s in strings if not owned(s)]
                assert not free, (f"{spec.label} {version}: {free} spell a flag the generator renders "
                                  f"({[s for s in strings if owned(s)]}): add them to `aliases` in recipe/engines.py")


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_owned_flag_is_a_flag_of_the_engine(checkers, engine):
    # Some spellings are younger than the launch images (vLLM 0.32's --device-memory-utilization):
    # owned for the versions that have them; the newest must know every one.
    spec, versions = _groups(checkers, engine)
    actions = dict(versions)[NEWEST[engine].checked_with]
    known = {s for strings in actions for s in strings}
    for flag in [*spec.owned_flags(), *spec.lifted_flags]:
        assert flag in known, f"{spec.label} {NEWEST[engine].checked_with} has no {flag}: recipe/engines.py names a flag it lacks"
