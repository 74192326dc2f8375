"""scripts/images.sh's inputs of the two app images (the root Dockerfile's smoke and bench
targets): the files it hashes into an image's label and sends as its build context. A file
missing from them would not rebuild its image when it changes; one too many would rebuild the
other image for nothing. No daemon needed (`images.sh inputs APP`).
"""

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def inputs(root: Path, app: str) -> list[str]:
    done = subprocess.run([str(root / "scripts" / "images.sh"), "inputs", app], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def digest(root: Path, app: str) -> str:
    h = hashlib.sha256()
    for name in inputs(root, app):
        h.update(name.encode() + b"\0" + (root / name).read_bytes())
    return h.hexdigest()


def tracked(folder: str) -> set[str]:
    out = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("app", ["smoke", "bench"])
def test_an_app_image_holds_the_dockerfile_and_its_own_folder_only(app):
    assert set(inputs(ROOT, app)) == {"Dockerfile", ".dockerignore"} | tracked(f"{app}/")


def test_inputs_refuses_an_unknown_app():
    done = subprocess.run([str(ROOT / "scripts" / "images.sh"), "inputs", "gateway"], capture_output=True,
                          text=True, timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
    assert "usage:" in done.stderr and "inputs smoke|bench" in done.stderr


def test_a_changed_input_changes_its_images_hash_only(tmp_path):
    for name in ("scripts/images.sh", "Dockerfile", ".dockerignore"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    for folder in ("smoke", "bench"):
        for name in tracked(f"{folder}/"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp_path / name)
    before = {app: digest(tmp_path, app) for app in ("smoke", "bench")}

    with (tmp_path / "bench" / "run.py").open("a") as f:
        f.write("# changed\n")
    assert digest(tmp_path, "bench") != before["bench"]
    assert digest(tmp_path, "smoke") == before["smoke"]

    with (tmp_path / "Dockerfile").open("a") as f:  # the shared definition: both rebuild
        f.write("# changed\n")
    after = {app: digest(tmp_path, app) for app in ("smoke", "bench")}
    assert after["smoke"] != before["smoke"]
    assert len(set(after.values()) | set(before.values())) == 4
