"""Every golden through the real Compose v2 loader, then structural checks on what it loaded."""

import json
import re

import pytest
import yaml

from recipe.engines import ENGINES
from recipe.releases import dialect
from recipe.errors import RecipeError
from stack.rendered import load_render
from recipe.catalog import MODELS
from recipe.goldens import MATRIX
from recipe.render import ROOT
from smoke.spec import METHODS as SIDECAR_SPECULATIVE

GOLDEN = ROOT / "tests" / "golden"


def seconds(duration: str) -> int:
    """Compose prints Go durations: 1h30m0s."""
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([hms])", duration))


@pytest.fixture(scope="module")
def loaded(compose_model):
    """name -> the compose model as Compose itself resolved it (interpolation, ~, defaults)."""
    return {name: compose_model(GOLDEN / f"{name}.yaml") for name in MATRIX}


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_compose_accepts_every_golden(name, compose_config):
    result = compose_config(GOLDEN / f"{name}.yaml", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("breakage,complaint", [
    ("retries: 3", "retries: five"),
    ("ipc: host", "ipc: [host]"),
    ("count: 8", "count: lots"),
    ("condition: service_healthy", "condition: service_happy"),
])
def test_compose_rejects_a_broken_render(breakage, complaint, compose_config, tmp_path):
    """The loader check can fail: one wrong value is enough."""
    text = (GOLDEN / "vllm-default.yaml").read_text()
    assert breakage in text
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace(breakage, complaint, 1))
    result = compose_config(broken, "-q")
    assert result.returncode != 0
    assert result.stderr.strip(), "Compose should say what is wrong"


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_structure(name, loaded):
    p, cfg = MATRIX[name], loaded[name]
    engine, smoke = cfg["services"]["engine"], cfg["services"]["smoke"]
    spec = ENGINES[p.engine]

    assert engine["image"] == p.image
    release = dialect(p.engine, p.image)
    assert engine["entrypoint"] == list(release.entrypoint)
    cmd = engine["command"]
    if release.args:  # after the recipe's, before the user's own --engine-args
        end = len(cmd) - len(p.engine_args)
        assert cmd[end - len(release.args):end] == list(release.args)
    for key, value in release.env.items():
        assert engine["environment"][key] == value
    if spec.model_flag:
        assert cmd[cmd.index(spec.model_flag) + 1] == p.model
    else:
        assert cmd[0] == p.model
    assert cmd[cmd.index(spec.tp_flag) + 1] == str(p.tp)
    assert cmd[cmd.index("--tool-call-parser") + 1] == p.tool_call_parser
    assert cmd[cmd.index("--reasoning-parser") + 1] == p.reasoning_parser
    assert cmd[cmd.index("--served-model-name") + 1] == p.served_model_name
    assert engine["ipc"] == "host"
    assert engine["security_opt"] == ["no-new-privileges:true"]  # the hardening the engines allow
    if p.rehearsal:
        assert "ulimits" not in engine
    else:
        assert engine["ulimits"]["memlock"] == -1 and engine["ulimits"]["stack"] == 67108864

    # GPUs: exactly the ones used, or none at all in a rehearsal.
    if p.rehearsal:
        assert "deploy" not in engine
    else:
        (device,) = engine["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
        if p.gpu_ids:
            assert device["device_ids"] == [str(i) for i in p.gpu_ids]
        else:
            assert device["count"] == p.tp

    # The HF cache at the path the engines read, and a named volume for JIT caches.
    mounts = {m["target"]: m for m in engine["volumes"]}
    assert mounts["/root/.cache/huggingface"]["type"] == "bind"
    assert mounts["/cache"]["type"] == "volume" and mounts["/cache"]["source"] == "jit-cache"
    assert "jit-cache" in cfg["volumes"]

    # Port published on the bind address only; with the gateway, only the gateway publishes one
    # (tests/test_gateway_render.py).
    if p.gateway:
        assert "ports" not in engine
    else:
        (port,) = engine["ports"]
        assert port["host_ip"] == p.bind
        assert port["published"] == str(p.port) and port["target"] == spec.port

    # Healthcheck in python3 (no curl), waits through the load, engine timer raised to match.
    hc = engine["healthcheck"]
    assert hc["test"][:3] == ["CMD", "python3", "-c"] and f":{spec.port}/health" in hc["test"][3]
    assert seconds(hc["start_period"]) == p.start_period * 60
    if not p.rehearsal:
        assert p.start_period >= 60
        assert seconds(hc["start_interval"]) == 15
    if p.engine == "vllm":
        assert engine["environment"]["VLLM_ENGINE_READY_TIMEOUT_S"] == str(p.start_period * 60)
    assert engine["logging"]["options"] == {"max-size": "100m", "max-file": "5"}
    assert ("HF_HUB_OFFLINE" in engine["environment"]) == p.offline

    # The sidecar: after the engine is healthy, locked down, pointed at the served name.
    assert smoke["depends_on"]["engine"]["condition"] == "service_healthy"
    assert smoke["profiles"] == ["smoke"]  # plain `up -d` must not block on the load
    assert smoke["environment"]["SMOKE_BASE_URL"] == ("http://gateway:8080" if p.gateway
                                                      else f"http://engine:{spec.port}")
    assert smoke["environment"]["SMOKE_MODEL"] == p.served_model_name
    # The spec-decode check knows what the engine was told (off = SKIP).
    assert smoke["environment"]["SMOKE_SPECULATIVE"] == p.speculative
    # The draft length caps the sidecar's acceptance floor (smoke/spec.py).
    assert smoke["environment"].get("SMOKE_SPEC_TOKENS") == (str(p.spec_tokens) if p.spec_tokens else None)
    # Behind the gateway (which keeps /metrics for monitoring) the check reads the engine's.
    assert smoke["environment"].get("SMOKE_METRICS_URL") == (f"http://engine:{spec.port}" if p.gateway else None)
    assert p.speculative in SIDECAR_SPECULATIVE  # the sidecar accepts every value a render writes
    assert smoke["read_only"] is True and smoke["cap_drop"] == ["ALL"]
    assert smoke["security_opt"] == ["no-new-privileges:true"]
    assert smoke["mem_limit"] == "536870912" and smoke["cpus"] == 1.0  # bounded next to the engine
    assert smoke["build"]["context"] == str(ROOT)
    assert smoke["user"] != "0" and not smoke["user"].startswith("0:")


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_profile_round_trips_through_the_file(name):
    assert load_render(GOLDEN / f"{name}.yaml").profile == MATRIX[name]


def test_load_render_refuses_a_foreign_file(tmp_path):
    foreign = tmp_path / "c.yaml"
    foreign.write_text("services: {}\n")
    with pytest.raises(RecipeError, match="has no valid x-profile block"):
        load_render(foreign)


def test_token_comes_from_the_environment_at_run_time(compose_config):
    result = compose_config(GOLDEN / "vllm-default.yaml", "--format", "json", env={"HF_TOKEN": "hf_abc"})
    assert json.loads(result.stdout)["services"]["engine"]["environment"]["HF_TOKEN"] == "hf_abc"


def test_models_fit_where_the_matrix_says():
    """Every golden profile that uses GPUs has at least the model's minimum memory."""
    from recipe.catalog import GPUS

    for p in MATRIX.values():
        if not p.rehearsal:
            assert p.tp * GPUS[p.gpu_type].memory_gb >= MODELS[p.model].vram_gb


def test_the_kv_cache_headroom_is_five_percent():
    """The engine's share of a GPU must hold its weight slice plus 5% for the KV cache."""
    from recipe.catalog import MODELS
    from recipe.sizing import weights_fit

    model = MODELS["zai-org/GLM-5-FP8"]  # 810 GB of weights: 101.25 GB per GPU at TP 8
    per_gpu = model.weights_gb / 8
    at_limit = per_gpu * 1.05 / 141
    assert weights_fit(model, 8, at_limit, 141)[2] is None
    usable, _, fix = weights_fit(model, 8, at_limit - 0.001, 141)
    assert fix is not None and usable < per_gpu * 1.05


def argv_problems(doc: dict) -> list[str]:
    """Why Compose could mangle the engine's argv: a string is shell-split, a number is not a string."""
    out = []
    for key in ("entrypoint", "command"):
        value = doc["services"]["engine"].get(key)
        if not isinstance(value, list):
            out.append(f"{key} is {type(value).__name__}, not a list")
        else:
            out += [f"{key}[{i}] is {type(v).__name__}" for i, v in enumerate(value) if not isinstance(v, str)]
    return out


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_the_engine_argv_is_written_as_lists_of_strings(name):
    assert argv_problems(yaml.safe_load((GOLDEN / f"{name}.yaml").read_text())) == []


def test_argv_problems_sees_what_compose_would_mangle():
    doc = {"services": {"engine": {"entrypoint": "vllm serve", "command": ["m", 8, 0.85]}}}
    assert argv_problems(doc) == ["entrypoint is str, not a list", "command[1] is int", "command[2] is float"]
