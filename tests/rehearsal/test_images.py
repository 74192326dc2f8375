"""The rehearsal images, as the rehearsal's compose file uses them.

Runs only when selected: `pytest -m docker tests/rehearsal`. Needs a daemon (with
`scripts/docker.sh env` applied) and the images from `make rehearsal-images`.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
ENGINE = "glm5-compose/vllm-cpu:rehearsal"
SIDECAR = "glm5-compose/smoke:local"
GATEWAY = "glm5-compose/nginx:rehearsal"
LABEL = "glm5-compose.inputs"


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module", autouse=True)
def images(request):
    if "docker" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("needs Docker: select with -m docker")
    missing = [i for i in (ENGINE, SIDECAR, GATEWAY) if docker("image", "inspect", i).returncode != 0]
    if missing:
        pytest.fail(f"missing images {missing}: run make rehearsal-images")


def config(image: str) -> dict:
    return json.loads(docker("image", "inspect", image).stdout)[0]["Config"]


def test_engine_image_runs_like_the_vllm_image():
    cfg = config(ENGINE)
    assert cfg["Entrypoint"] == ["vllm", "serve"]
    assert cfg["User"] == "10002:10002"  # non-root, like every image we build
    assert cfg["Labels"][LABEL]
    # The compose healthcheck's command, and the shim in front of the broken console script.
    out = docker("run", "--rm", "--entrypoint", "sh", ENGINE, "-c",
                 "command -v python3; command -v vllm; python3 -c 'import urllib.request'; "
                 "ls /root/.cache/huggingface 2>/dev/null | wc -l")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[:2] == ["/opt/vllm/bin/python3", "/opt/vllm/bin/vllm"]
    assert lines[2] == "0"  # the model is mounted by the rehearsal, never baked in


def test_engine_shim_refuses_other_subcommands():
    out = docker("run", "--rm", "--entrypoint", "vllm", ENGINE, "bench")
    assert out.returncode == 2
    assert "only 'vllm serve MODEL" in out.stderr


def test_sidecar_image_is_built_on_the_local_base():
    cfg = config(SIDECAR)
    assert cfg["User"] == "10001:10001"
    assert cfg["Entrypoint"] == ["python3", "-m", "smoke"]
    assert cfg["Labels"][LABEL]
    out = docker("run", "--rm", SIDECAR, "--help")
    assert out.returncode == 0, out.stderr
    assert "--base-url" in out.stdout


def test_gateway_image_is_debians_nginx_non_root():
    cfg = config(GATEWAY)
    assert cfg["User"] == "10003:10003"
    assert cfg["Labels"][LABEL]
    # What the render's gateway service runs: sh, mkfifo, cat, sed for the start script, wget for
    # the healthcheck, nginx; as the render runs it (read-only, no capabilities).
    out = docker("run", "--rm", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                 "--entrypoint", "sh", GATEWAY, "-c",
                 "for c in mkfifo cat sed wget nginx id; do command -v $c >/dev/null || echo missing $c; done; "
                 "nginx -v 2>&1; id -u")
    assert out.returncode == 0, out.stderr
    assert "missing" not in out.stdout
    assert "nginx/1.22" in out.stdout and out.stdout.split()[-1] == "10003"


def test_images_are_kept_when_their_inputs_are_unchanged():
    out = subprocess.run([str(ROOT / "scripts" / "images.sh"), "all"], capture_output=True,
                         text=True, timeout=120, env=os.environ)
    assert out.returncode == 0, out.stderr
    for image in (ENGINE, SIDECAR, GATEWAY):
        assert f"{image} is up to date" in out.stderr
