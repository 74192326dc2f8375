"""scripts/images.sh against a real Docker daemon: after a build it removes the dangling images
that earlier builds of ours left, and no one else's (the daemon may be the operator's own).

Runs only when selected: `pytest -m docker tests/test_images_docker.py` (make test-docker).
Needs a daemon (scripts/docker.sh env applied) and the local image glm5-compose/base:bookworm.
"""

import os
import subprocess
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parent.parent
BASE = "glm5-compose/base:bookworm"
LABEL = "glm5-compose.inputs"  # scripts/images.sh's LABEL


@pytest.fixture(autouse=True)
def only_when_selected(request):
    if "docker" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("needs Docker: select with -m docker")
    info = subprocess.run(["docker", "image", "inspect", BASE], capture_output=True, timeout=30)
    if info.returncode != 0:
        pytest.fail(f"{BASE} is missing: build it first (scripts/images.sh base)")


def ours_dangling(token: str) -> str:
    """An untagged (dangling) image as a rebuild of ours leaves: on the base, with LABEL."""
    dockerfile = f'FROM {BASE}\nLABEL {LABEL}="test-{token}"\n'
    done = subprocess.run(["docker", "build", "-q", "--force-rm", "-"], input=dockerfile, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "DOCKER_BUILDKIT": "0"})  # as images.sh
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def theirs_dangling(token: str) -> str:
    """An untagged image of somebody else's: imported from a one-file tar, no label of ours (a
    child of our base would inherit LABEL, and be ours by this rule)."""
    tar = subprocess.run(["tar", "-c", "-f", "-", "--transform", f"s|.*|{token}|", "-C", str(ROOT), "README.md"],
                         capture_output=True, timeout=60, check=True).stdout
    done = subprocess.run(["docker", "import", "--change", f'LABEL someone.else="{token}"', "-"], input=tar,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().strip().splitlines()[-1]


def exists(image_id: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image_id], capture_output=True, timeout=30).returncode == 0


def test_prune_removes_our_dangling_images_and_keeps_everyone_else_s():
    token = uuid.uuid4().hex[:12]
    ours, theirs = ours_dangling(token), theirs_dangling(token)
    try:
        assert exists(ours) and exists(theirs)
        done = subprocess.run([str(ROOT / "scripts" / "images.sh"), "prune"], capture_output=True, text=True,
                              timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        assert not exists(ours), "a dangling image of our builds was kept"
        assert exists(theirs), "a dangling image that is not ours was deleted"
    finally:
        subprocess.run(["docker", "image", "rm", "-f", ours, theirs], capture_output=True, timeout=60)
