"""One spec per engine: every engine difference the render needs lives here, as data.

To find where a rendered flag comes from, search this file for it.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Engine:
    name: str
    label: str
    image: str
    entrypoint: tuple[str, ...]
    port: int  # the engine's own default port, inside the container
    model_flag: str | None  # None: the model is the first positional argument
    fixed_args: tuple[str, ...]  # always rendered, right after the model
    tp_flag: str
    tool_parser_flag: str
    tool_choice_args: tuple[str, ...]  # what turns on automatic tool choice
    reasoning_parser_flag: str
    mem_flag: str
    served_name_flag: str
    context_flag: str
    extra_args: tuple[str, ...]  # rendered last
    # Speculative methods this engine runs for GLM, as argument templates; {n} is --spec-tokens.
    speculative: dict[str, tuple[str, ...]]
    default_speculative: str
    default_spec_tokens: int
    # {ready_s} is the healthcheck's start period in seconds, so a slow load is not killed
    # by the engine's own timer before the healthcheck gives up.
    env: dict[str, str] = field(default_factory=dict)
    # Where compile and JIT caches go; all point into one named volume mounted at /cache.
    cache_env: dict[str, str] = field(default_factory=dict)
    # Extra arguments and environment for serving the tiny model on a CPU (--rehearsal).
    cpu_args: tuple[str, ...] = ()
    cpu_env: dict[str, str] = field(default_factory=dict)


_JIT_CACHES = {
    "TRITON_CACHE_DIR": "/cache/triton",
    "TORCHINDUCTOR_CACHE_DIR": "/cache/inductor",
    "DG_JIT_CACHE_DIR": "/cache/deep_gemm",
    "FLASHINFER_WORKSPACE_BASE": "/cache/flashinfer",
}

VLLM = Engine(
    name="vllm",
    label="vLLM",
    image="vllm/vllm-openai:glm5",
    # Set explicitly: older vllm-openai images had a python3 -m ... api_server entrypoint.
    entrypoint=("vllm", "serve"),
    port=8000,
    model_flag=None,
    fixed_args=(),
    tp_flag="--tensor-parallel-size",
    tool_parser_flag="--tool-call-parser",
    tool_choice_args=("--enable-auto-tool-choice",),
    reasoning_parser_flag="--reasoning-parser",
    mem_flag="--gpu-memory-utilization",
    served_name_flag="--served-model-name",
    context_flag="--max-model-len",
    extra_args=(),
    # The seed's and the vLLM recipe's dotted form; 1 token keeps acceptance above 90%.
    speculative={
        "mtp": (
            "--speculative-config.method", "mtp",
            "--speculative-config.num_speculative_tokens", "{n}",
        ),
    },
    default_speculative="mtp",
    default_spec_tokens=1,
    # The default 600 s is shorter than a cold GLM-5 load.
    env={"VLLM_ENGINE_READY_TIMEOUT_S": "{ready_s}"},
    cache_env={"VLLM_CACHE_ROOT": "/cache/vllm", **_JIT_CACHES},
    cpu_args=("--dtype", "bfloat16", "--enforce-eager"),
    cpu_env={"VLLM_CPU_KVCACHE_SPACE": "1"},
)

SGLANG = Engine(
    name="sglang",
    label="SGLang",
    image="lmsysorg/sglang:glm5-hopper",
    entrypoint=("python3", "-m", "sglang.launch_server"),
    port=30000,
    model_flag="--model-path",
    # SGLang binds 127.0.0.1 by default: unreachable from outside the container.
    fixed_args=("--host", "0.0.0.0", "--port", "30000"),
    tp_flag="--tp-size",
    tool_parser_flag="--tool-call-parser",
    # SGLang has no --enable-auto-tool-choice: a tool parser turns tool choice on.
    tool_choice_args=(),
    reasoning_parser_flag="--reasoning-parser",
    mem_flag="--mem-fraction-static",
    served_name_flag="--served-model-name",
    context_flag="--context-length",
    # /metrics is off unless asked for.
    extra_args=("--enable-metrics",),
    # EAGLE runs GLM's own MTP (NextN) layer as the draft model: steps n, top-k 1, n+1 drafts.
    speculative={
        "eagle": (
            "--speculative-algorithm", "EAGLE",
            "--speculative-num-steps", "{n}",
            "--speculative-eagle-topk", "1",
            "--speculative-num-draft-tokens", "{n_plus_1}",
        ),
    },
    default_speculative="eagle",
    default_spec_tokens=3,
    cache_env=dict(_JIT_CACHES),
)

ENGINES = {e.name: e for e in (VLLM, SGLANG)}
