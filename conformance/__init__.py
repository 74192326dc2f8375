"""Engine conformance checkers: the engines' own argument parsers judge rendered commands.

Each checker runs inside its engine's venv (vLLM and SGLang cannot share one, nor the test
venv) and needs only that venv plus PyYAML:

    $CACHE/vllm-venv/bin/python   -m conformance.vllm   FILE.yaml...
    $CACHE/sglang-venv/bin/python -m conformance.sglang FILE.yaml...

Each prints one JSON document on stdout: the engine version, its parser-name registries, and per
file either the parsed values of interest (`ok: true`) or the engine's rejection message.
Comparing those values with the profile that rendered the file is the tests' job
(tests/conformance/); the checker only knows what the engine accepts.
"""
