"""SGLang's judgement of rendered commands: `python -m conformance.sglang COMPOSE.yaml...`.

Runs in $CACHE/sglang-venv (scripts/sglang-env.sh). `prepare_server_args` is what
`python3 -m sglang.launch_server` calls on its argv; it parses offline and rejects unknown
flags, bad numbers and unknown parser names (exit 2). `--speculative-algorithm` is a free string
there, so it is also resolved the way the scheduler resolves it.
"""

import functools
import sys

from .common import Rejected, check_names, expect_entrypoint, first_import, main, option_groups

ENTRYPOINT = ["python3", "-m", "sglang.launch_server"]
VALUES = (
    "model_path", "tp_size", "speculative_algorithm", "speculative_num_steps",
    "speculative_eagle_topk", "speculative_num_draft_tokens", "tool_call_parser",
    "reasoning_parser", "mem_fraction_static", "served_model_name", "host", "port",
    "enable_metrics", "context_length",
    # Two hosts: SGLang's own multi-node flags.
    "nnodes", "node_rank", "dist_init_addr", "pp_size",
    # Production knobs, and flags the passthrough golden appends (--engine-args).
    "max_running_requests", "kv_cache_dtype", "chunked_prefill_size", "watchdog_timeout",
)


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


def check(entrypoint: list[str], command: list[str]) -> dict:
    from sglang.srt.server_args import prepare_server_args
    from sglang.srt.speculative.spec_info import SpeculativeAlgorithm

    expect_entrypoint(entrypoint, ENTRYPOINT)
    args = prepare_server_args(list(command))
    regs = registries()
    check_names("tool call parser", args.tool_call_parser, regs["tool_call_parser"])
    check_names("reasoning parser", args.reasoning_parser, regs["reasoning_parser"])
    if args.speculative_algorithm is not None:
        try:
            SpeculativeAlgorithm.from_string(args.speculative_algorithm)
        except ValueError as exc:
            raise Rejected(f"--speculative-algorithm: {exc}") from None
    return {k: getattr(args, k) for k in VALUES}


if __name__ == "__main__":
    sys.exit(main("sglang", version, registries, check))
