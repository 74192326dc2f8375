"""The option strings of each action of an engine's server argument parser, as JSON: one list
per action (its aliases together: SGLang's ["--tp-size", "--tensor-parallel-size"]), and the
engine's version. Runs in the engine's venv:

    $CACHE/vllm-venv/bin/python   -m conformance.option_groups vllm
    $CACHE/sglang-venv/bin/python -m conformance.option_groups sglang

tests/conformance/test_owned_flags.py uses it to prove that every spelling of a flag the
generator renders is refused in --engine-args, not only the one recipe/engines.py names.
"""

import argparse
import json
import os
import sys


def parser(engine: str) -> argparse.ArgumentParser:
    if engine == "vllm":
        from .common import first_import
        from .vllm import _cli

        parser_class = first_import("vllm.utils.argparse_utils:FlexibleArgumentParser",
                                    "vllm.utils:FlexibleArgumentParser")
        return _cli("make_arg_parser")(parser_class(prog="vllm serve"))
    from sglang.srt.server_args import ServerArgs

    p = argparse.ArgumentParser(prog="sglang serve")
    ServerArgs.add_cli_args(p)
    return p


def main() -> int:
    engine = sys.argv[1]
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # engines log to stdout at import time: keep the real stdout for the JSON
    groups = [list(a.option_strings) for a in parser(engine)._actions if a.option_strings]
    version = __import__(engine).__version__.split("+")[0]  # a local build tag (+cpu) is not the release
    out.write(json.dumps({"version": version, "groups": groups}))
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
