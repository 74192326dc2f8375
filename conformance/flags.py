"""Every option name an engine version's own argument parser accepts, one per line, sorted.

Runs inside an engine venv (like the checkers):

    $CACHE/vllm-venv/bin/python   -m conformance.flags vllm   [--out DIR]
    $CACHE/sglang-venv/bin/python -m conformance.flags sglang [--out DIR]

Without --out the list goes to stdout (`--parsers`: the parser registries instead, one
`KIND NAME` line each); with it, both to DIR/<engine>-<version>.txt and
DIR/<engine>-<version>.parsers.txt (what `make flags` writes into recipe/flags/). The parser and
registries are the checkers' (conformance/vllm.py, conformance/sglang.py `registries()`): vLLM's
`make_arg_parser` (what `vllm serve` parses), SGLang's `ServerArgs.add_cli_args` (what
`prepare_server_args` parses for `sglang serve` and `python3 -m sglang.launch_server`). Every
option string counts, aliases included (`-tp`, `--tp`, a deprecated `--nsa-*`): the engine takes
each of them. What a list cannot hold is said in recipe/flags/README.md.
"""

import argparse
import os
import sys
from importlib import import_module

from .common import flag_data


def _version(engine: str) -> str:
    module = __import__(engine)
    return module.__version__.split("+")[0]  # a local build tag (+cpu) is not the release


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m conformance.flags")
    ap.add_argument("engine", choices=("vllm", "sglang"))
    ap.add_argument("--out", help="write DIR/<engine>-<version>.txt and .parsers.txt instead of stdout")
    ap.add_argument("--parsers", action="store_true", help="print the parser registries, not the options")
    a = ap.parse_args()
    # Engines log to stdout at import time: keep the real stdout for the list only.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    data = flag_data(import_module(f"conformance.{a.engine}").registries())
    if a.out:
        for suffix, lines in ((".txt", data["options"]), (".parsers.txt", data["parser_lines"])):
            path = os.path.join(a.out, f"{a.engine}-{_version(a.engine)}{suffix}")
            with open(path, "w", encoding="utf-8") as f:
                f.write("".join(f"{n}\n" for n in lines))
            print(f"{path}: {len(lines)} lines", file=sys.stderr)
    else:
        out.write("".join(f"{n}\n" for n in data["parser_lines" if a.parsers else "options"]))
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
