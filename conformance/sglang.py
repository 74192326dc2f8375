"""SGLang's judgement of rendered commands: `python -m conformance.sglang COMPOSE.yaml...`.

Runs in $CACHE/sglang-venv (scripts/sglang-env.sh). `prepare_server_args` is what
`python3 -m sglang.launch_server` calls on its argv; it parses offline and rejects unknown
flags, bad numbers and unknown parser names (exit 2). `--speculative-algorithm` is a free string
there, so it is also resolved the way the scheduler resolves it.
"""

import functools
import sys

from .common import Rejected, check_names, expect_entrypoint, first_import, main, option_groups

# Both parse their argv with prepare_server_args: launch_server directly, `sglang serve` (a
# console script since 0.5.8) after its subcommand.
ENTRYPOINTS = (["python3", "-m", "sglang.launch_server"], ["sglang", "serve"])
VALUES = (
    "model_path", "tp_size", "speculative_algorithm", "speculative_num_steps",
    "speculative_eagle_topk", "speculative_num_draft_tokens", "tool_call_parser",
    "reasoning_parser", "mem_fraction_static", "served_model_name", "host", "port",
    "enable_metrics", "context_length",
    # Two hosts: SGLang's own multi-node flags.
    "nnodes", "node_rank", "dist_init_addr", "pp_size",
    # Production knobs, and flags the passthrough golden appends (--engine-args).
    "max_running_requests", "kv_cache_dtype", "chunked_prefill_size", "watchdog_timeout",
    # A GPU target's recipe (catalog.Recipe: the B200 backends).
    "attention_backend", "moe_runner_backend", "quantization",
)
# Values only some releases have: the DSA backends are nsa_* before sglang PR #25821.
OPTIONAL_VALUES = ("dsa_prefill_backend", "dsa_decode_backend", "nsa_prefill_backend", "nsa_decode_backend")


@functools.cache
def registries() -> dict:
    from sglang.srt.server_args import prepare_server_args  # noqa: F401 - import cost up front

    # The name lists (0.5.23) without the parser classes' imports; then the classes' own maps,
    # where older releases keep the names.
    tools = first_import("sglang.srt.function_call.parser_names:TOOL_CALL_PARSER_NAMES",
                         "sglang.srt.function_call.function_call_parser:FunctionCallParser")
    reasoning = first_import("sglang.srt.parser.reasoning_parser_names:REASONING_PARSER_NAMES",
                             "sglang.srt.parser.reasoning_parser:ReasoningParser",
                             "sglang.srt.reasoning_parser:ReasoningParser")
    tools = getattr(tools, "ToolCallParserEnum", tools)
    reasoning = getattr(reasoning, "DetectorMap", reasoning)
    return {"tool_call_parser": sorted(tools), "reasoning_parser": sorted(reasoning),
            "option_groups": option_groups(_parser())}


def _parser():
    """What prepare_server_args parses (sglang serve, python3 -m sglang.launch_server)."""
    import argparse

    from sglang.srt.server_args import ServerArgs

    parser = argparse.ArgumentParser(prog="sglang serve")
    ServerArgs.add_cli_args(parser)
    return parser


def version() -> str:
    import sglang

    return sglang.__version__


def check(entrypoint: list[str], command: list[str], env: dict) -> dict:
    from sglang.srt.server_args import prepare_server_args
    from sglang.srt.speculative.spec_info import SpeculativeAlgorithm

    expect_entrypoint(entrypoint, *ENTRYPOINTS)
    try:
        args = prepare_server_args(list(command))
        limits = None
    except RuntimeError as exc:
        if "No accelerator" not in str(exc):
            raise
        # Releases before ~0.5.9 pick a device in ServerArgs.__post_init__ and raise on a host
        # without one. The argument parser itself ran (unknown flags, types and choices are
        # judged) and returned; only the dataclass's cross-checks are skipped, and said so.
        args = _parse_only(list(command))
        limits = f"ServerArgs.__post_init__ skipped: {exc}"
    regs = registries()
    check_names("tool call parser", args.tool_call_parser, regs["tool_call_parser"])
    check_names("reasoning parser", args.reasoning_parser, regs["reasoning_parser"])
    if args.speculative_algorithm is not None:
        try:
            SpeculativeAlgorithm.from_string(args.speculative_algorithm)
        except ValueError as exc:
            raise Rejected(f"--speculative-algorithm: {exc}") from None
    return {**{k: getattr(args, k) for k in VALUES},
            **{k: getattr(args, k) for k in OPTIONAL_VALUES if hasattr(args, k)}, "limits": limits}


def _parse_only(argv: list[str]):
    """prepare_server_args without ServerArgs.__post_init__: the release's own parser and its own
    from_cli_args (which maps --tensor-parallel-size to tp_size etc.), nothing else skipped."""
    import argparse

    from sglang.srt.server_args import ServerArgs

    parser = argparse.ArgumentParser(prog="sglang serve")
    ServerArgs.add_cli_args(parser)
    namespace = parser.parse_args(argv)
    post_init = ServerArgs.__post_init__
    ServerArgs.__post_init__ = lambda self: None
    try:
        return ServerArgs.from_cli_args(namespace)
    finally:
        ServerArgs.__post_init__ = post_init


if __name__ == "__main__":
    sys.exit(main("sglang", version, registries, check))
