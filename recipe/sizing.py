"""Does the model fit the GPUs? Nominal GB, as in the vLLM recipes' vram_minimum_gb."""

from .errors import RecipeError
from . import releases
from .catalog import GPUS, MODELS, Gpu, Model


def check_fit(p, facts: Model, gpu: Gpu) -> None:
    # Every GPU type the generator knows is Hopper (sm90) or Blackwell (sm100), both of which
    # DeepGEMM runs on, so facts.hopper_only needs no check here; preflight checks the real GPUs'
    # compute capability.
    ranks = p.tp * p.pp  # every GPU of every host holds a slice of the weights
    have = ranks * gpu.memory_gb
    where = f"{ranks}x {gpu.label}" + (f" on {p.nodes} hosts" if p.nodes > 1 else "")
    if have < facts.vram_gb:
        # Blame the option the user most likely chose.
        option, value = ("--tp", p.tp) if ranks != p.gpus * p.nodes else (
            ("--gpu-type", gpu.name) if p.gpus == 8 else ("--gpus", p.gpus))
        raise RecipeError(
            option, value,
            f"{p.model} needs ~{facts.vram_gb} GB of GPU memory and {where} has {have} GB",
            alternatives(p, facts, gpu),
        )
    usable, per_gpu, fraction = weights_fit(facts, ranks, p.mem_fraction, gpu.memory_gb)
    if fraction:
        raise RecipeError(
            "--mem-fraction", p.mem_fraction, f"{where} would give the engine {usable:.0f} GB "
            f"per GPU, and the weights alone take ~{per_gpu:.0f} GB",
            f"use --mem-fraction {fraction:g} or more GPUs",
        )


def weights_fit(model: Model, tp: int, mem_fraction: float, gpu_gb: float) -> tuple[float, float, float | None]:
    """(GB the engine gets per GPU, GB of weights per GPU, the --mem-fraction that would fit or None).

    The engine's share of each GPU must hold that GPU's slice of the weights with room left for
    the KV cache (5% here); below that the engine dies at load with no KV cache blocks.
    """
    usable, per_gpu = mem_fraction * gpu_gb, model.weights_gb / tp
    if usable >= per_gpu * 1.05:
        return usable, per_gpu, None
    return usable, per_gpu, min(0.95, round(per_gpu * 1.05 / gpu_gb + 0.05, 2))


def kv_tokens(p, model: Model, gpu: Gpu) -> tuple[float, int] | None:
    """(GB per GPU left for the KV cache, tokens it holds at most) for this profile's
    --mem-fraction and --kv-cache-dtype; None where the model's KV size is not known. An upper
    bound: activations and CUDA graphs take their share of the same memory first."""
    per_token = model.kv_bytes.get(p.kv_cache_dtype)
    if not per_token or p.mem_fraction is None:
        return None
    pool = p.mem_fraction * gpu.memory_gb - model.weights_gb / (p.tp * p.pp)
    return pool, max(0, int(pool * 1e9 / per_token))


def kv_note(p, model: Model, gpu: Gpu) -> str | None:
    """What --max-num-seqs and --kv-cache-dtype mean in tokens, for the generator's notes."""
    budget = kv_tokens(p, model, gpu)
    if budget is None:
        return None
    pool, tokens = budget
    dtype = "FP8" if p.kv_cache_dtype == "fp8" else "BF16 (if auto keeps the checkpoint's)"
    note = (f"the KV cache gets at most ~{pool:.0f} GB per GPU: ~{tokens:,} tokens of {dtype} KV "
            f"({model.kv_bytes[p.kv_cache_dtype]:,} B each)")
    if p.max_num_seqs:
        note += f", ~{tokens // p.max_num_seqs:,} per request with all {p.max_num_seqs} running"
    context = p.max_model_len or model.context
    if tokens < context:
        note += (f"; one {context:,}-token request may not fit: lower --max-model-len"
                 + ("" if p.kv_cache_dtype == "fp8" else " or use --kv-cache-dtype fp8"))
    return note


def fits(model: Model, gpu: Gpu, n: int) -> bool:
    """n GPUs hold the model (n = 16: two hosts, TP 16 or TP 8 x PP 2; both divide the heads)."""
    return model.heads % n == 0 and n * gpu.memory_gb >= model.vram_gb


def alternatives(p, model: Model, gpu: Gpu) -> str:
    """Name the ways out: other GPUs on one host, two nodes, or a smaller model that fits."""
    options = []
    one_host = " --nodes 1" if p.nodes > 1 else ""
    for other in GPUS.values():
        n = next((n for n in (4, 8) if fits(model, other, n)), None)
        if n and (other != gpu or p.nodes > 1):
            options.append(f"{n}x {other.label} (--gpu-type {other.name} --gpus {n}{one_host})")
        elif n:
            options.append(f"--tp {n}" if p.gpus >= n else f"--gpus {n}")
    if not fits(model, gpu, 8):
        # Prefer the user's own GPU type; else the first that two hosts of would hold it.
        two_nodes = [g for g in (gpu, *GPUS.values()) if fits(model, g, 16)
                     and (p.nodes == 1 or g != gpu or p.gpus < 8)]
        if two_nodes:
            other = "" if two_nodes[0] == gpu else f" --gpu-type {two_nodes[0].name}"
            if p.nodes == 1:
                flags = f"--nodes 2{other} --head-address HEAD_IP"
            else:
                flags = other.strip() or "--gpus 8"
            options.append(f"two hosts of 8x {two_nodes[0].label} ({flags})")
    for smaller in MODELS.values():
        if (not smaller.rehearsal and smaller.vram_gb < model.vram_gb and fits(smaller, gpu, 8)
                and releases.serves(p.engine, p.image, smaller)):
            options.append(f"--model {smaller.repo} (~{smaller.vram_gb} GB)")
    return "use " + ", or ".join(options)


def table() -> list[dict]:
    """Every model x GPU x count, for the README and the tests: fits or not."""
    rows = []
    for m in (m for m in MODELS.values() if not m.rehearsal):
        for g in GPUS.values():
            for n in (4, 8, 16):
                rows.append(dict(model=m.repo, gpus=f"{n}x {g.label}" + (" (2 hosts)" if n > 8 else ""),
                                 have=n * g.memory_gb, need=m.vram_gb, fits=n * g.memory_gb >= m.vram_gb))
    return rows


def markdown() -> str:
    """The sizing table as it stands in README.md (make golden rewrites it; a test compares)."""
    lines = ["| model | GPUs | have (GB) | needs (GB) | fits |", "|---|---|---|---|---|"]
    for r in table():
        lines.append(f"| `{r['model']}` | {r['gpus']} | {r['have']} | ~{r['need']} | "
                     f"{'yes' if r['fits'] else '**no**'} |")
    return "\n".join(lines) + "\n"
