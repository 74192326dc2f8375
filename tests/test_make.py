"""The make targets treat the rendered file's path as data: a path read from .last-render (or
given as COMPOSE_FILE) reaches each tool as one argument, and nothing in it runs as a command.
ARGS reaches the tool too; without Compose v2 the targets say how to install it; `make help`
lists the operator targets first.

The real Makefile and mk/*.mk run in a copy of the repo's make files, with the venv's python and
`docker` replaced by recorders of their argv: the shell that make starts is the real one.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each would run a command (touch the marker) or split into words if expanded unquoted.
HOSTILE = [
    "/srv/my renders/glm 5.yaml",
    "/srv/a;touch {marker};#.yaml",
    "/srv/$(touch {marker}).yaml",
    "/srv/`touch {marker}`.yaml",
    "/srv/a' \"b\" && touch {marker} || '.yaml",
    "/srv/${{HOME}}/*.yaml",
]
# Every target that acts on the rendered file, and the tool (argv[0] as recorded) it calls.
TARGETS = {
    "preflight": ["python", "-m", "stack.preflight", "--compose-file"],
    "download": ["python", "-m", "stack.download", "--compose-file"],
    "up": ["python", "-m", "stack.up", "--compose-file"],
    "down": ["docker", "compose", "-f"],
    "logs": ["docker", "compose", "-f"],
    "smoke": ["docker", "compose", "-f"],
}


@pytest.fixture
def makedir(tmp_path):
    """A copy of the make files with recorders in place of .venv/bin/python and docker."""
    work = tmp_path / "repo"
    (work / "mk").mkdir(parents=True)
    (work / "smoke").mkdir()
    (work / "scripts").mkdir()
    shutil.copy(ROOT / "Makefile", work)
    shutil.copy(ROOT / "scripts" / "compose.sh", work / "scripts")
    for mk in (ROOT / "mk").glob("*.mk"):
        shutil.copy(mk, work / "mk")
    for req in ("requirements.txt", "requirements-dev.txt", "smoke/requirements.txt"):
        shutil.copy(ROOT / req, work / req)
    log = tmp_path / "argv.jsonl"
    recorder = (f"#!/bin/sh\nexec {sys.executable} -c 'import json, os, sys; "
                f"open(os.environ[\"ARGV_LOG\"], \"a\").write(json.dumps(sys.argv[1:]) + \"\\n\")' \"$0\" \"$@\"\n")
    bin_dir = tmp_path / "bin"
    for fake in (work / ".venv" / "bin" / "python", bin_dir / "docker"):
        fake.parent.mkdir(parents=True, exist_ok=True)
        fake.write_text(recorder)
        fake.chmod(0o755)
    (work / ".venv" / ".stamp").touch()  # newer than the requirements: make builds no venv
    return work, log, bin_dir


def run_make(makedir, target, *args, env=None):
    work, log, bin_dir = makedir
    log.unlink(missing_ok=True)
    environ = {k: v for k, v in os.environ.items() if k != "COMPOSE_FILE"}
    environ.update(PATH=f"{bin_dir}:{environ['PATH']}", ARGV_LOG=str(log), **(env or {}))
    done = subprocess.run(["make", "--no-print-directory", target, *args], cwd=work, env=environ,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    calls = [c for c in calls if c[1:] != ["compose", "version"]]  # scripts/compose.sh's probe
    assert len(calls) == 1, calls
    return [Path(calls[0][0]).name, *calls[0][1:]]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("template", HOSTILE)
def test_a_path_from_last_render_is_one_argument_and_runs_nothing(makedir, target, template, tmp_path):
    marker = tmp_path / "ran"
    path = template.format(marker=marker)
    (makedir[0] / ".last-render").write_text(f"{path}\n")
    argv = run_make(makedir, target)
    prefix = TARGETS[target]
    assert argv[:len(prefix)] == prefix
    assert argv[len(prefix)] == path
    assert not marker.exists()


@pytest.mark.parametrize("target", ["preflight", "down"])
def test_compose_file_given_to_make_is_one_argument(makedir, target, tmp_path):
    marker = tmp_path / "ran"
    path = f"/srv/x y;touch {marker}.yaml"
    (makedir[0] / ".last-render").write_text("/srv/ignored.yaml\n")
    argv = run_make(makedir, target, f"COMPOSE_FILE={path}")
    assert argv[len(TARGETS[target])] == path
    assert not marker.exists()


@pytest.mark.parametrize("last_render", [None, "", "\n"])
def test_without_a_recorded_render_targets_act_on_the_vllm_default(makedir, last_render):
    if last_render is not None:
        (makedir[0] / ".last-render").write_text(last_render)
    argv = run_make(makedir, "preflight")
    assert argv[-1] == "compose/vllm.yaml"


# --- ARGS, Compose v2, make help: the real Makefile in the repo, the real tools --------------

from test_download import compose, hub  # noqa: E402,F401  (fixtures: the fake hub, a render)

OPERATOR = ["venv", "generate", "preflight", "download", "up", "smoke", "bench", "monitoring", "logs", "down"]


def make(*args, env=None):
    """`make ARGS...` in the repo with this interpreter as the venv's (-o: never rebuild it)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("ARGS", "COMPOSE_FILE", "MAKEFLAGS")}
    environ.update(env or {})
    return subprocess.run(["make", "--no-print-directory", "-o", ".venv/.stamp", f"PY={sys.executable}", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=environ)


def test_download_dry_run_arrives_and_fetches_nothing(hub, compose):  # noqa: F811
    env = {"HF_ENDPOINT": hub.url, "HF_HOME": str(compose.parent.parent / "hf-home"),
           "HF_HUB_DOWNLOAD_TIMEOUT": "10", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_TOKEN": ""}
    done = make("download", "ARGS=--dry-run", f"COMPOSE_FILE={compose}", env=env)
    assert done.returncode == 0, done.stderr
    assert "4 to fetch" in done.stdout
    assert not hub.gets("model-00001-of-00002.safetensors"), "ARGS=--dry-run was dropped: a real download ran"


def test_preflight_args_arrive_and_make_reports_the_tools_code(tmp_path):
    report = tmp_path / "chosen.json"
    done = make("preflight", f"ARGS=--report {report}", "COMPOSE_FILE=compose/vllm.yaml")
    assert report.is_file(), done.stdout + done.stderr
    if done.returncode:  # no GPU here: preflight FAILs (1); make turns any failure into 2
        assert done.returncode == 2
        assert re.search(r"\[.*preflight\] Error 1$", done.stderr, re.M), done.stderr


@pytest.mark.parametrize("golden", ["vllm-fp8-2x8h100-mtp-v032-node1.yaml", "sglang-fp8-2x8h100-node1.yaml"])
def test_make_lint_passes_a_worker_host_s_file_alone(golden):
    # The worker's file has no sidecar, which .compose-lint.yml names (CL-0008): with
    # --strict-config compose-lint refused it as a config error, on the host that runs it.
    done = make("lint", f"COMPOSE_FILE=tests/golden/{golden}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert "PASS" in done.stdout and "0 issues" in done.stdout, done.stdout


def test_up_args_arrive():
    done = make("up", "ARGS=--help", "COMPOSE_FILE=compose/vllm.yaml", env={"DOCKER": "true"})
    assert done.returncode == 0, done.stderr
    assert "--no-smoke" in done.stdout


@pytest.mark.parametrize("target, args, tail", [
    ("down", "-v", ["down", "-v"]),
    ("logs", "--tail 200", ["-f", "--tail", "200", "engine"]),
    ("smoke", "--timeout 30", ["smoke", "--timeout", "30"]),
    ("up", "--no-smoke", ["--no-smoke"]),
    ("preflight", "--report x.json", ["--report", "x.json"]),
    ("download", "--dry-run", ["--dry-run"]),
])
def test_args_land_where_the_tool_reads_them(makedir, target, args, tail):
    argv = run_make(makedir, target, f"ARGS={args}")
    assert argv[-len(tail):] == tail


def test_without_compose_v2_the_targets_say_how_to_install_it(tmp_path):
    stub = tmp_path / "docker"  # answers `compose` the way a docker CLI without the plugin does
    stub.write_text('#!/bin/sh\necho "docker: unknown command: docker $1" >&2\nexit 1\n')
    stub.chmod(0o755)
    message = ("Error: docker compose: the Compose v2 plugin is not installed. Fix: install "
               "docker-compose-plugin from Docker's apt repository (https://docs.docker.com/engine/install/; "
               "the steps are in README.md, \"Host requirements\"), then check `docker compose version`")
    for target in ("up", "smoke", "logs", "down"):
        done = make(target, "COMPOSE_FILE=compose/vllm.yaml", env={"DOCKER": str(stub)})
        assert done.returncode == 2, (target, done.stdout)
        assert done.stderr.splitlines()[0] == message, target
        assert re.search(rf"\[.*{target}\] Error 13$", done.stderr, re.M)


def test_without_docker_the_targets_say_what_to_install(tmp_path):
    done = make("down", "COMPOSE_FILE=compose/vllm.yaml", env={"DOCKER": str(tmp_path / "no-docker")})
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        "Error: docker: not found. Fix: install Docker Engine 25+ (docker-ce) and docker-compose-plugin "
        "from Docker's apt repository (https://docs.docker.com/engine/install/; the steps are in "
        "README.md, \"Host requirements\")")


def test_the_readme_section_the_fix_points_to_exists():
    script = (ROOT / "scripts" / "compose.sh").read_text()
    section = re.search(r'README\.md, \\"([^"\\]+)\\"', script).group(1)
    readme = (ROOT / "README.md").read_text()
    assert f"\n## {section}\n" in readme
    assert "docker-compose-plugin" in readme.split(f"\n## {section}\n")[1].split("\n## ")[0]


def test_help_lists_operator_targets_first_in_order_then_every_other_target_once():
    done = make("help")
    assert done.returncode == 0, done.stderr
    operator_part, developer_part = done.stdout.split("Developer targets:")

    def listed(part):
        return [line.split()[0] for line in part.splitlines() if line.startswith("  ")]

    assert listed(operator_part) == OPERATOR
    documented = set()
    for mk in [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk"))]:
        documented |= set(re.findall(r"^([a-z-]+):.*## ", mk.read_text(), re.M))
    assert sorted(listed(operator_part) + listed(developer_part)) == sorted(documented)


def test_the_readme_path_runs_the_operator_targets_in_make_helps_order():
    readme = (ROOT / "README.md").read_text()
    path = readme.split("\n## From zero to a served tool call\n", 1)[1].split("\n## ", 1)[0]
    used = re.findall(r"^\s*make ([a-z-]+)", "\n".join(re.findall(r"```bash\n(.*?)```", path, re.S)), re.M)
    assert used and set(used) <= set(OPERATOR), used
    firsts = list(dict.fromkeys(used))
    assert firsts == sorted(firsts, key=OPERATOR.index), f"the README's path runs {firsts}; make help lists {OPERATOR}"
    assert {"venv", "generate", "preflight", "download", "up", "down"} <= set(firsts)
