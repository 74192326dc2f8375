"""`python -m stack.up` against a real Docker daemon: a dying engine fails `up` in seconds.

Runs only when selected: `pytest -m docker tests/test_up_docker.py`. Needs a daemon (with
`scripts/docker.sh env` applied), Compose v2 and the local image glm5-compose/base:bookworm
(python3 inside; nothing is pulled). Each test brings up its own project and takes it down.
"""

import json
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from recipe.goldens import MATRIX, NODES_MATRIX
from stack import up

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "glm5-compose/base:bookworm"
PROFILE = MATRIX["vllm-default"].to_dict()

START = [
    "INFO 02-12 09:14:02 [__init__.py:216] Automatically detected platform cuda.",
    "(APIServer pid=1) INFO 02-12 09:14:08 [api_server.py:1885] vLLM API server version 0.16.0",
    "(Worker_TP0 pid=445) INFO 02-12 09:15:11 [gpu_model_runner.py:2602] Starting to load model zai-org/GLM-5-FP8...",
    "Loading safetensors checkpoint shards:   0% Completed | 0/141 [00:00<?, ?it/s]",
    "Loading safetensors checkpoint shards:  50% Completed | 70/141 [00:03<00:03, 21.10it/s]",
]
OOM = ("(Worker_TP4 pid=449) ERROR 02-12 09:27:22 [multiproc_executor.py:671] torch.OutOfMemoryError: "
       "CUDA out of memory. Tried to allocate 1.74 GiB. GPU 4 has a total capacity of 139.81 GiB of which "
       "953.94 MiB is free.")
DIED = "(EngineCore_DP0 pid=312) ERROR 02-12 09:27:15 [core.py:708] EngineCore failed to start."
READY = "(APIServer pid=1) INFO:     Application startup complete."


@pytest.fixture(autouse=True)
def only_when_selected(request):
    if "docker" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("needs Docker: select with -m docker")
    try:
        info = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, timeout=30)
    except (FileNotFoundError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"docker does not answer: {e}")
    if info.returncode != 0:
        pytest.fail(f"{IMAGE} is missing: build it first (scripts/images.sh)")


SLEEP = "time.sleep(600)"  # the engine keeps running
EXIT = "sys.exit(1)"


def engine_script(lines_before, last=None, end=SLEEP):
    """A python3 -c program printing a log, pausing, printing `last`, then running `end`."""
    return textwrap.dedent(f"""
        import sys, time
        for line in {json.dumps(lines_before)}:
            print(line, flush=True)
            time.sleep(0.2)
        time.sleep(2)
        for line in {json.dumps([last] if last else [])}:
            print(line, flush=True)
    """) + end + "\n"


@pytest.fixture
def stack(tmp_path):
    files = []

    def make(engine_code, smoke_exit=None, healthy_when_ready=False, worker=False):
        engine = {
            "image": IMAGE,
            "entrypoint": ["python3", "-u", "-c", engine_code],
            "stop_grace_period": "1s",
            "restart": "no",
        }
        services = {"engine": engine}
        if healthy_when_ready:
            engine["healthcheck"] = {"test": ["CMD", "test", "-f", "/tmp/ready"],
                                     "interval": "1s", "start_period": "60s"}
        if smoke_exit is not None:
            services["smoke"] = {
                "image": IMAGE,
                "entrypoint": ["python3", "-c",
                               f"import sys; print('smoke: verdict {smoke_exit}'); sys.exit({smoke_exit})"],
                "depends_on": {"engine": {"condition": "service_healthy" if healthy_when_ready
                                          else "service_started"}},
            }
        path = tmp_path / "compose.yaml"
        # A stand-in engine under the vLLM default's profile: make up reads the engine from it.
        doc = {"name": f"glm5-up-test-{uuid.uuid4().hex[:8]}", "x-profile": PROFILE, "services": services}
        if worker:  # the worker host of a two-host render: no healthcheck, no sidecar
            doc.update({"x-profile": NODES_MATRIX["vllm-fp8-2x8h100"].to_dict(),
                        "x-node": {"rank": 1, "role": "worker", "head_address": "10.0.0.1"}})
        path.write_text(json.dumps(doc))
        files.append(path)
        return path

    yield make
    for path in files:
        subprocess.run(["docker", "compose", "-f", str(path), "down", "-t", "0", "--remove-orphans"],
                       capture_output=True, timeout=120)


def run_up(path, *args, timeout=180):
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "stack.up", "--compose-file", str(path), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return done, time.monotonic() - start


def test_a_cuda_oom_line_fails_up_within_seconds_though_the_engine_still_runs(stack):
    path = stack(engine_script(START, OOM))
    done, seconds = run_up(path, "--no-smoke")
    assert done.returncode == up.EXIT_FATAL, done.stdout + done.stderr
    assert "cuda-oom" in done.stdout and "hint: lower --gpu-memory-utilization" in done.stdout
    assert "torch.OutOfMemoryError" in done.stdout
    assert "loading    checkpoint shards" in done.stdout  # the phases were shown on the way
    assert "make down" in done.stdout
    assert seconds < 30, f"took {seconds:.0f} s"  # ~1 s of log, 2 s pause, compose up, <= 10 s


def test_an_engine_that_exits_without_a_known_error_fails_up(stack):
    path = stack(engine_script(START, None, EXIT))
    done, seconds = run_up(path, "--no-smoke")
    assert done.returncode == up.EXIT_EXITED, done.stdout + done.stderr
    assert "exited with code 1" in done.stdout
    assert seconds < 30


def test_a_generic_death_is_reported_when_the_engine_exits(stack):
    path = stack(engine_script(START, DIED, EXIT))
    done, _ = run_up(path, "--no-smoke")
    assert done.returncode == up.EXIT_FATAL, done.stdout + done.stderr
    assert "engine-died" in done.stdout


def ready_script():
    # the healthcheck passes once the script has printed its ready line
    return engine_script(START, READY, "open('/tmp/ready', 'w').close(); " + SLEEP)


def test_a_ready_engine_hands_over_to_the_sidecar_and_up_exits_with_its_verdict(stack):
    path = stack(ready_script(), smoke_exit=0, healthy_when_ready=True)
    done, seconds = run_up(path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ready      vllm serves" in done.stdout and "smoke: verdict 0" in done.stdout
    assert seconds < 60


def test_a_failing_sidecar_fails_up_with_its_code(stack):
    path = stack(ready_script(), smoke_exit=1, healthy_when_ready=True)
    done, _ = run_up(path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "failed (exit 1)" in done.stdout


def test_a_missing_sidecar_service_is_a_usage_error(stack):
    path = stack(ready_script())
    done, _ = run_up(path, timeout=60)
    assert done.returncode == 2 and "--no-smoke" in done.stderr


def test_a_gpu_reservation_without_the_nvidia_runtime_names_the_cause(stack):
    runtimes = subprocess.run(["docker", "info", "--format", "{{json .Runtimes}}"],
                              capture_output=True, text=True, timeout=30).stdout
    if "nvidia" in runtimes:
        pytest.skip("this daemon has the NVIDIA runtime")
    path = stack(engine_script(START, READY))
    spec = json.loads(path.read_text())
    spec["services"]["engine"]["deploy"] = {"resources": {"reservations": {"devices": [
        {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]}}}
    path.write_text(json.dumps(spec))
    done, seconds = run_up(path, "--no-smoke", timeout=120)
    assert done.returncode == up.EXIT_DOCKER, done.stdout + done.stderr
    assert "cause: no-gpu-runtime" in done.stderr and "nvidia-container-toolkit" in done.stderr
    assert seconds < 30


# A worker host's start as vLLM 0.32 prints it (tests/logs/worker/vllm-joined-recorded.log).
WORKER_START = [
    "(MainProcess pid=1) INFO 12-01 00:13:39 [serve.py:224] Launching vLLM (v0.32.0) headless multiproc "
    "executor, with head node address 10.0.0.1:29501 for torch.distributed process group.",
    "(Worker pid=7) INFO 12-01 00:14:43 [parallel_state.py:1906] world_size=16 rank=8 local_rank=0 "
    "distributed_init_method=tcp://10.0.0.1:29501 backend=nccl",
]
JOINED = ("(Worker pid=7) INFO 12-01 00:15:09 [parallel_state.py:2350] rank 8 in world size 16 is assigned "
          "as DP rank 0, PP rank 1, PCP rank 0, TP rank 0, ETP rank 0, EP rank N/A, EPLB rank N/A")


def test_a_worker_host_exits_0_once_it_has_joined(stack):
    done, seconds = run_up(stack(engine_script(WORKER_START, JOINED), worker=True))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "joined the head: rank 8 of 16 (PP rank 1)" in done.stdout
    assert "smoke" not in done.stdout.split("joined the head")[-1]  # no sidecar on a worker
    assert seconds < 60


def test_a_worker_that_never_joins_times_out(stack):
    done, _ = run_up(stack(engine_script(WORKER_START), worker=True), "--timeout", "8")
    assert done.returncode == up.EXIT_TIMEOUT, done.stdout + done.stderr
    assert "connecting to tcp://10.0.0.1:29501" in done.stdout
