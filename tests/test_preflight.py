"""Preflight: each check against recorded or staged host facts, the GPU verdicts against the
sizing for every golden profile, and the CLI on this machine (real Docker daemon if one answers)."""

import errno
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stack import cli, preflight
from recipe.errors import RecipeError
from recipe.catalog import GPUS, MODELS, Gpu
from recipe.goldens import MATRIX
from stack.preflight import Context, Host, Report, Result, Unavailable, run_checks, text_report
from recipe.render import render_compose
from stack.rendered import Rendered, load_render

ROOT = Path(__file__).resolve().parent.parent
SMI = ROOT / "tests" / "fixtures" / "nvidia-smi"
ONE_HOST_CHECKS = ["docker", "docker-engine", "compose", "nvidia-runtime", "gpus", "gpu-memory", "driver",
                   "gpu-arch", "disk", "port", "hf-token", "api-keys", "memlock", "shm"]
# Two hosts only (tests/test_preflight_nodes.py); SKIP on a one-host render.
NODE_CHECKS = ["head-address", "iface", "infiniband", "image", "head-ports"]
CHECK_NAMES = ONE_HOST_CHECKS + NODE_CHECKS
DOCKER_VERSION = ROOT / "tests" / "fixtures" / "docker-version"
ROOTFUL = {"ServerVersion": "28.2.2", "Runtimes": {"runc": {}, "nvidia": {}}, "SecurityOptions": ["name=seccomp"]}
RENDERED = {"ipc": "host", "ulimits": {"memlock": -1, "stack": 67108864}}
TB = 10**12


class FakeHost(Host):
    """A GPU host as recorded: every probe answers from the fields below, no real one runs."""

    def __init__(self, smi="h200x8.csv", docker=ROOTFUL, compose="Docker Compose version v2.40.3",
                 free=4 * TB, env=None, memlock=(65536, 65536), shm=64 << 30, cdi=(), hook=None,
                 docker_version="engine-28.3.3.txt"):
        self.smi, self.docker, self.compose, self.free = smi, docker, compose, free
        self.docker_version_file = docker_version
        self.environ, self.limits, self.shm, self.cdi, self.hook = env or {}, memlock, shm, list(cdi), hook
        self.disk_asked = []
        self.bound = []

    def nvidia_smi(self):
        if isinstance(self.smi, Unavailable):
            raise self.smi
        return (SMI / self.smi).read_text()

    def docker_info(self):
        if isinstance(self.docker, Unavailable):
            raise self.docker
        return self.docker

    def docker_version(self):
        return (DOCKER_VERSION / self.docker_version_file).read_text()

    def compose_version(self):
        if isinstance(self.compose, Unavailable):
            raise self.compose
        return self.compose

    def disk_free(self, path):
        self.disk_asked.append(path)
        return self.free

    def try_bind(self, address, port):
        self.bound.append((address, port))

    def env(self, name):
        return self.environ.get(name)

    def memlock(self):
        return self.limits

    def shm_bytes(self):
        return self.shm

    def cdi_specs(self, dirs):
        return self.cdi

    def which(self, name):
        return self.hook


def results(profile, host, tmp_path, service=None, compose_dir=None):
    rendered = Rendered((compose_dir or tmp_path) / "compose.yaml", profile,
                        {"engine": RENDERED if service is None else service})
    ctx = Context(rendered, host)
    return {r.name: r for r in run_checks(ctx)}


def with_cache(name, tmp_path, **update):
    return MATRIX[name].replace(hf_cache=str(tmp_path / "hf"), **update)


def test_every_check_is_registered_once_in_report_order():
    assert [name for name, _ in preflight.CHECKS] == CHECK_NAMES


# --- GPUs: the recorded hosts against the sizing, for every golden profile ---

FIXTURE_GPUS = {"h200x8.csv": (8, GPUS["h200"], (9, 0)), "h100x8.csv": (8, GPUS["h100"], (9, 0)),
                "a100x4.csv": (4, Gpu("a100", 80, "A100"), (8, 0))}


def expected_gpu_verdicts(profile, fixture):
    """What the sizing table says, worked out from the nominal GB (not from preflight's code)."""
    if profile.rehearsal:
        return {"gpus": "SKIP", "gpu-memory": "SKIP", "gpu-arch": "SKIP"}
    count, gpu, cap = FIXTURE_GPUS[fixture]
    model = MODELS[profile.model]
    enough = profile.tp <= count and all(i < count for i in profile.gpu_ids or ())
    fits = profile.tp * gpu.memory_gb >= model.vram_gb
    slice_fits = profile.mem_fraction * gpu.memory_gb >= model.weights_gb / profile.tp * 1.05
    arch = cap >= (9, 0) if model.hopper_only else True
    return {"gpus": "PASS" if enough else "FAIL", "gpu-memory": "PASS" if fits and slice_fits else "FAIL",
            "gpu-arch": "PASS" if arch else "FAIL"}


@pytest.mark.parametrize("fixture", sorted(FIXTURE_GPUS))
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_gpu_verdicts_match_the_sizing_for_every_golden_profile(name, fixture, tmp_path):
    got = results(MATRIX[name], FakeHost(smi=fixture), tmp_path)
    assert {k: got[k].status for k in ("gpus", "gpu-memory", "gpu-arch")} == expected_gpu_verdicts(MATRIX[name], fixture)
    for r in got.values():
        assert (r.status in ("FAIL", "WARN")) == bool(r.fix), r


def test_glm5_fp8_on_8x_h100_fails_memory_and_names_the_ways_out(tmp_path):
    r = results(MATRIX["vllm-default"], FakeHost(smi="h100x8.csv"), tmp_path)["gpu-memory"]
    assert r.status == "FAIL"
    assert r.measured.startswith("8x 79.6 GiB = 637 GB")
    assert "~893 GB" in r.need
    assert "8x H200 (--gpu-type h200 --gpus 8)" in r.fix
    assert "two hosts of 8x H100 (--nodes 2" in r.fix
    assert "--model zai-org/GLM-4.7-FP8 (~430 GB)" in r.fix


def test_glm47_fp8_on_8x_h100_passes_every_gpu_check(tmp_path):
    got = results(MATRIX["vllm-glm47-h100"], FakeHost(smi="h100x8.csv"), tmp_path)
    assert [got[k].status for k in ("gpus", "gpu-memory", "gpu-arch")] == ["PASS"] * 3
    assert got["gpus"].measured == "8x NVIDIA H100 80GB HBM3 (driver 550.54.15)"


def test_glm5_on_a100_fails_the_hopper_check(tmp_path):
    got = results(MATRIX["sglang-default"], FakeHost(smi="a100x4.csv"), tmp_path)
    assert got["gpu-arch"].status == "FAIL"
    assert got["gpu-arch"].measured == "NVIDIA A100-SXM4-80GB: 8.0"
    assert "Hopper" in got["gpu-arch"].need
    assert "use H100 or H200" in got["gpu-arch"].fix
    assert got["gpus"].status == "FAIL" and "--gpus 4 --tp 4" in got["gpus"].fix


def test_h200_reported_in_mib_counts_as_its_nominal_141_gb(tmp_path):
    r = results(MATRIX["vllm-default"], FakeHost(smi="h200x8.csv"), tmp_path)["gpu-memory"]
    assert r.status == "PASS"
    assert r.measured.startswith("8x 140.4 GiB = 1123 GB")


def test_gpu_ids_missing_on_the_host_fail(tmp_path):
    p = MATRIX["vllm-glm47-4xh200"].replace(gpu_ids=(4, 5, 6, 7))
    r = results(p, FakeHost(smi="a100x4.csv"), tmp_path)["gpus"]
    assert r.status == "FAIL" and "GPUs 0-3" in r.fix


def fake_smi(tmp_path, monkeypatch, fixture, code):
    """Put an `nvidia-smi` that prints the recorded output first on PATH: the real probe runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "nvidia-smi"
    script.write_text(f"#!/bin/sh\ncat '{SMI / fixture}'\nexit {code}\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_the_real_probe_reads_a_recorded_host(tmp_path, monkeypatch):
    fake_smi(tmp_path, monkeypatch, "h200x8.csv", 0)
    gpus = preflight.parse_gpus(Host().nvidia_smi())
    assert len(gpus) == 8 and gpus[7].index == 7
    assert gpus[0] == preflight.GpuInfo(0, "NVIDIA H200", 143771, "570.133.20", (9, 0))


def test_driver_not_loaded_fails_gpus_with_the_fix_and_skips_the_rest(tmp_path, monkeypatch):
    fake_smi(tmp_path, monkeypatch, "no-driver.txt", 9)
    host = FakeHost()
    host.nvidia_smi = Host().nvidia_smi
    got = results(MATRIX["vllm-default"], host, tmp_path)
    assert got["gpus"].status == "FAIL"
    assert got["gpus"].measured.startswith("NVIDIA-SMI has failed because it couldn't communicate")
    assert "load the NVIDIA driver" in got["gpus"].fix
    assert got["gpu-memory"].status == got["gpu-arch"].status == "SKIP"


def test_missing_nvidia_smi_fails_gpus_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(Unavailable) as err:
        Host().nvidia_smi()
    assert "nvidia-smi not found" in str(err.value)
    host = FakeHost(smi=err.value)
    r = results(MATRIX["vllm-default"], host, tmp_path)["gpus"]
    assert (r.status, r.fix) == ("FAIL", "install the NVIDIA data-center driver (nvidia-smi comes with it)")


def test_garbled_nvidia_smi_output_is_a_failed_check_not_a_traceback():
    with pytest.raises(Unavailable, match="unexpected nvidia-smi output"):
        preflight.parse_gpus("NVIDIA H200, [N/A], 570.1\n")


def test_a_rehearsal_skips_every_gpu_check(tmp_path):
    got = results(MATRIX["rehearsal"], FakeHost(smi=Unavailable("nvidia-smi not found")), tmp_path)
    assert [got[k].status for k in ("nvidia-runtime", "gpus", "gpu-memory", "gpu-arch")] == ["SKIP"] * 4


# --- Docker, Compose, NVIDIA runtime ---

def test_docker_unreachable_fails_with_the_fix(tmp_path):
    got = results(MATRIX["vllm-default"], FakeHost(docker=Unavailable("unreachable at unix:///x.sock: no such socket")),
                  tmp_path)
    assert got["docker"].status == "FAIL" and "start Docker" in got["docker"].fix
    assert got["nvidia-runtime"].status == "FAIL" and "nvidia-container-toolkit" in got["nvidia-runtime"].fix


@pytest.mark.parametrize("docker, hook, cdi, status, measured", [
    (ROOTFUL, None, (), "PASS", "runtime nvidia"),
    ({**ROOTFUL, "Runtimes": {"runc": {}}}, None, ["/etc/cdi/nvidia.yaml"], "PASS", "CDI spec /etc/cdi/nvidia.yaml"),
    ({**ROOTFUL, "Runtimes": {"runc": {}}}, "/usr/bin/nvidia-container-runtime-hook", (), "PASS",
     "nvidia-container-runtime-hook"),
    ({**ROOTFUL, "Runtimes": {"runc": {}}}, None, (), "FAIL", "no nvidia runtime, nvidia-container-runtime-hook or "
     "CDI spec (runc)"),
    (Unavailable("down"), None, ["/var/run/cdi/nvidia.json"], "WARN", "CDI spec /var/run/cdi/nvidia.json on the "
     "host; Docker unreachable to confirm"),
])
def test_nvidia_runtime_from_docker_runtimes_the_hook_or_cdi(docker, hook, cdi, status, measured, tmp_path):
    r = results(MATRIX["vllm-default"], FakeHost(docker=docker, hook=hook, cdi=cdi), tmp_path)["nvidia-runtime"]
    assert (r.status, r.measured) == (status, measured)


@pytest.mark.parametrize("text, status", [
    ("Docker Compose version v2.40.3", "PASS"),
    ("docker-compose version 1.29.2, build unknown", "FAIL"),
    (Unavailable("docker: unknown command: docker compose"), "FAIL"),
])
def test_compose_v2(text, status, tmp_path):
    r = results(MATRIX["vllm-default"], FakeHost(compose=text), tmp_path)["compose"]
    assert r.status == status
    assert (status == "FAIL") == ("docker-compose-plugin" in r.fix)


def docker_answers() -> bool:
    import docker

    try:
        client = docker.from_env(timeout=5)
        try:
            return client.ping()
        finally:
            client.close()
    except Exception:
        return False


def test_the_real_docker_daemon_passes_or_fails_with_the_fix(tmp_path):
    """Whatever this machine has: a daemon that answers PASSes; none FAILs with the fix, no traceback."""
    ctx = Context(Rendered(tmp_path / "c.yaml", MATRIX["vllm-default"], {"engine": RENDERED}), Host())
    r = preflight.docker_daemon(ctx)
    if docker_answers():
        assert r.status == "PASS" and r.measured.startswith("Docker ")
    else:
        assert r.status == "FAIL" and r.measured.startswith("unreachable at ")
        assert "start Docker" in r.fix


def test_an_unreachable_docker_host_fails_quickly(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    with pytest.raises(Unavailable, match="no such socket"):
        Host().docker_info()


# --- disk and weights ---

def fake_snapshot(hf_cache: Path, repo: str, files: dict, complete=True, tree=True):
    """The HF cache layout: blobs, snapshots/<commit>/ symlinks, refs/main, trees/<commit>.json."""
    folder = hf_cache / "hub" / ("models--" + repo.replace("/", "--"))
    commit = "a" * 40
    for d in ("blobs", f"snapshots/{commit}", "refs"):
        (folder / d).mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(commit)
    for i, (name, data) in enumerate(files.items()):
        blob = folder / "blobs" / f"{i:040x}"
        if complete or i < len(files) - 1:
            blob.write_bytes(data)
        else:
            (folder / "blobs" / f"{i:040x}.incomplete").write_bytes(data[:1])
        (folder / "snapshots" / commit / name).symlink_to(f"../../blobs/{i:040x}")
    if tree:
        (folder / "trees").mkdir(exist_ok=True)
        listing = {name: {"size": len(data), "blob_id": f"{i:040x}"} for i, (name, data) in enumerate(files.items())}
        (folder / "trees" / f"{commit}.json").write_text(json.dumps({"format_version": 1, "files": listing}))
    return folder


SHARDED = {"config.json": b"{}", "model.safetensors.index.json": json.dumps(
    {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}).encode(),
    "model-00001-of-00002.safetensors": b"1" * 1000, "model-00002-of-00002.safetensors": b"2" * 1000}


@pytest.mark.parametrize("free, status", [(100 * 10**9, "FAIL"), (850 * 10**9, "WARN"), (4 * TB, "PASS")])
def test_disk_against_the_weights_size(free, status, tmp_path):
    host = FakeHost(free=free)
    r = results(with_cache("vllm-default", tmp_path), host, tmp_path)["disk"]
    assert r.status == status
    assert "~810 GB for zai-org/GLM-5-FP8" in r.need
    assert host.disk_asked == [tmp_path]  # hf/ does not exist yet: its nearest existing parent
    if status == "FAIL":
        assert "--hf-cache" in r.fix


def test_disk_passes_when_the_weights_are_already_in_the_cache(tmp_path):
    fake_snapshot(tmp_path / "hf", "zai-org/GLM-5-FP8", SHARDED)
    r = results(with_cache("vllm-default", tmp_path), FakeHost(free=1), tmp_path)["disk"]
    assert r.status == "PASS" and r.measured.startswith("weights complete in ")


def test_disk_is_measured_where_the_hub_resolves(tmp_path):
    """hub/ may be a link to another disk: the space that counts is there (download measures the
    same place: stack.hfcache.disk_target)."""
    other = tmp_path / "other-disk"
    other.mkdir()
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "hub").symlink_to(other)
    host = FakeHost()
    results(with_cache("vllm-default", tmp_path), host, tmp_path)
    assert host.disk_asked == [other]


def test_an_offline_render_without_the_weights_fails_with_make_download(tmp_path):
    r = results(with_cache("vllm-custom", tmp_path), FakeHost(), tmp_path)["disk"]
    assert r.status == "FAIL" and "make download" in r.fix


@pytest.mark.parametrize("layout, present", [
    (dict(files=SHARDED), True),
    (dict(files=SHARDED, tree=False), True),  # filled by another tool: the index names the shards
    (dict(files=SHARDED, complete=False), False),  # the last shard still downloading
    (dict(files={k: v for k, v in SHARDED.items() if "00002" not in k}, tree=False), False),
    (dict(files={"config.json": b"{}", "model.safetensors": b"w"}, tree=False), True),
    (dict(files={"config.json": b"{}"}, tree=False), False),
])
def test_weights_present(layout, present, tmp_path):
    from stack.download import weights_present

    assert not weights_present(tmp_path / "hf", "zai-org/GLM-5-FP8")
    fake_snapshot(tmp_path / "hf", "zai-org/GLM-5-FP8", **layout)
    assert weights_present(tmp_path / "hf", "zai-org/GLM-5-FP8") is present


# --- port ---

def test_a_free_port_passes_and_a_bound_one_fails(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        busy = held.getsockname()[1]
        p = MATRIX["vllm-default"].replace(port=busy)
        host = FakeHost()
        host.try_bind = Host().try_bind
        r = results(p, host, tmp_path)["port"]
        assert (r.status, r.measured) == ("FAIL", f"127.0.0.1:{busy} in use")
        assert "--port" in r.fix
    r = results(p, host, tmp_path)["port"]
    assert (r.status, r.measured) == ("PASS", f"127.0.0.1:{busy} free")


def test_a_bind_address_not_on_this_host_fails(tmp_path):
    p = MATRIX["vllm-default"].replace(bind="192.0.2.77")  # TEST-NET-1
    host = FakeHost()
    host.try_bind = Host().try_bind
    r = results(p, host, tmp_path)["port"]
    assert r.status == "FAIL" and "--bind 127.0.0.1" in r.fix


# --- HF_TOKEN: never printed ---

def test_hf_token_set_passes_without_showing_it(tmp_path):
    got = results(MATRIX["vllm-default"], FakeHost(env={"HF_TOKEN": "hf_s3cret"}), tmp_path)
    assert got["hf-token"].status == "PASS"
    assert "hf_s3cret" not in json.dumps([r.__dict__ for r in got.values()])


def test_hf_token_in_the_dotenv_next_to_the_compose_file_passes(tmp_path):
    (tmp_path / ".env").write_text("# secrets\nexport HF_TOKEN='hf_s3cret'\n")
    r = results(MATRIX["vllm-default"], FakeHost(), tmp_path)["hf-token"]
    assert r.status == "PASS" and "hf_s3cret" not in r.measured


def test_hf_token_unset_is_a_warning_not_a_failure(tmp_path):
    (tmp_path / ".env").write_text("HF_TOKEN=\n")
    r = results(MATRIX["vllm-default"], FakeHost(), tmp_path)["hf-token"]
    assert r.status == "WARN" and "export HF_TOKEN" in r.fix


def test_hf_token_is_not_needed_offline(tmp_path):
    assert results(MATRIX["vllm-custom"], FakeHost(), tmp_path)["hf-token"].status == "SKIP"


# --- memlock and /dev/shm ---

INF = preflight.RLIM_INFINITY


@pytest.mark.parametrize("docker, limits, service, status", [
    (ROOTFUL, (65536, 65536), RENDERED, "PASS"),
    ({**ROOTFUL, "SecurityOptions": ["name=seccomp", "name=rootless"]}, (65536, 65536), RENDERED, "FAIL"),
    ({**ROOTFUL, "SecurityOptions": ["name=rootless"]}, (INF, INF), RENDERED, "PASS"),
    (ROOTFUL, (65536, 65536), {"ipc": "host"}, "WARN"),
])
def test_memlock(docker, limits, service, status, tmp_path):
    r = results(MATRIX["vllm-default"], FakeHost(docker=docker, memlock=limits), tmp_path, service)["memlock"]
    assert r.status == status
    assert "host shell: 64 KiB" in r.measured or "unlimited (hard unlimited)" in r.measured


@pytest.mark.parametrize("shm, service, status", [
    (64 << 30, RENDERED, "PASS"),
    (8 << 30, RENDERED, "WARN"),
    (64 << 20, RENDERED, "FAIL"),
    (64 << 30, {"ulimits": {"memlock": -1}}, "FAIL"),  # no ipc: host: Docker's 64 MB
    (64 << 20, {"shm_size": "32gb"}, "PASS"),
])
def test_shared_memory(shm, service, status, tmp_path):
    assert results(MATRIX["vllm-default"], FakeHost(shm=shm), tmp_path, service)["shm"].status == status


# --- results, report, CLI ---

def test_text_report():
    report = Report("compose/vllm.yaml", MATRIX["vllm-default"].to_dict(), [
        Result("docker", "PASS", "Docker 28.2.2", "a daemon"),
        Result("gpus", "FAIL", "nvidia-smi not found", "8 NVIDIA GPUs (TP 8)", "install the driver"),
    ])
    assert text_report(report) == (
        "Preflight of compose/vllm.yaml: zai-org/GLM-5-FP8 on vllm, 8x H200 (TP 8)\n"
        "\n"
        "PASS  docker  Docker 28.2.2\n"
        "FAIL  gpus    nvidia-smi not found\n"
        "              need: 8 NVIDIA GPUs (TP 8)\n"
        "              fix:  install the driver\n"
        "\n"
        "1 FAIL, 0 WARN, 1 PASS, 0 SKIP: `up` would fail on this host.\n"
    )
    assert report.exit_code == 1
    assert Report("f", {}, [Result("x", "WARN", "m", "n", "f")]).exit_code == 0


def test_a_healthy_gpu_host_exits_0(tmp_path):
    compose = tmp_path / "vllm.yaml"
    compose.write_text(render_compose(with_cache("vllm-default", tmp_path), tmp_path))
    host = FakeHost(env={"HF_TOKEN": "x"})
    report = preflight.preflight(compose, host)
    # No gateway in this render: its key file is not asked for; one host: no two-host checks.
    assert [r.status for r in report.results] == [
        "SKIP" if name == "api-keys" or name in NODE_CHECKS else "PASS" for name in CHECK_NAMES]
    assert report.exit_code == 0


def test_load_reads_the_profile_and_the_engine_service(tmp_path):
    compose = tmp_path / "sglang.yaml"
    compose.write_text(render_compose(with_cache("sglang-custom", tmp_path), tmp_path))
    ctx = preflight.Context(load_render(compose), FakeHost())
    assert ctx.profile == with_cache("sglang-custom", tmp_path)
    # The service as the Compose v2 loader resolves it.
    assert ctx.service["ipc"] == "host" and ctx.service["ulimits"]["memlock"] == -1
    with pytest.raises(RecipeError, match="no such file"):
        load_render(tmp_path / "missing.yaml")


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "stack.preflight", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={**os.environ, **(env or {})})


def test_cli_on_this_machine_reports_every_check_and_fails_the_gpu_checks(tmp_path):
    """The CI machine has no GPU: the report says so, with the fix, and exits 1; Docker as it is."""
    compose = tmp_path / "vllm.yaml"
    compose.write_text(render_compose(with_cache("vllm-default", tmp_path), tmp_path))
    report = tmp_path / "out" / "preflight.json"
    done = run_cli("--compose-file", str(compose), "--report", str(report), env={"HF_TOKEN": "hf_s3cret"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "hf_s3cret" not in done.stdout + report.read_text()
    data = json.loads(report.read_text())
    assert data["status"] == "fail" and data["profile"]["model"] == "zai-org/GLM-5-FP8"
    checks = {c["name"]: c for c in data["checks"]}
    assert list(checks) == CHECK_NAMES
    if not Host().which("nvidia-smi"):
        assert checks["gpus"]["status"] == "FAIL" and checks["gpus"]["fix"]
        assert "FAIL  gpus" in done.stdout
    assert checks["docker"]["status"] == ("PASS" if docker_answers() else "FAIL")
    assert done.stdout.rstrip().endswith(f"JSON report: {report}")


@pytest.mark.parametrize("args, message", [
    (["--compose-file", "/nonexistent.yaml"], "Error: --compose-file /nonexistent.yaml: no such file. Fix: "
     "run `make generate` first"),
    (["--bogus"], "Error: No such option"),
])
def test_cli_usage_errors_are_one_line_exit_2(args, message):
    done = run_cli(*args)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


def test_cli_refuses_a_file_without_a_profile(tmp_path):
    plain = tmp_path / "compose.yaml"
    plain.write_text("services:\n  engine:\n    image: x\n")
    done = run_cli("--compose-file", str(plain))
    assert done.returncode == 2 and "has no valid x-profile block" in done.stderr


def test_default_compose_file_is_the_last_render(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "ROOT", tmp_path)
    monkeypatch.setattr(cli, "LAST_RENDER", tmp_path / ".last-render")
    assert preflight.default_compose_file() == tmp_path / "compose" / "vllm.yaml"
    (tmp_path / ".last-render").write_text("/x/compose/sglang.yaml\n")
    assert preflight.default_compose_file() == Path("/x/compose/sglang.yaml")


def test_a_rehearsal_with_its_tiny_model_in_the_cache_passes_without_gpus(tmp_path):
    fake_snapshot(tmp_path / "tiny-hf", "glm5-compose/tiny-glm5", {"config.json": b"{}", "model.safetensors": b"w"})
    compose = tmp_path / "rehearsal.yaml"
    compose.write_text(render_compose(MATRIX["rehearsal"].replace(hf_cache=str(tmp_path / "tiny-hf")),
                                      tmp_path))
    report = preflight.preflight(compose, FakeHost(smi=Unavailable("nvidia-smi not found"), hook=None,
                                                   docker={**ROOTFUL, "Runtimes": {"runc": {}}}))
    assert {r.name: r.status for r in report.results if r.status != "SKIP"} == {
        "docker": "PASS", "compose": "PASS", "disk": "PASS", "port": "PASS", "shm": "PASS"}
    assert report.exit_code == 0


def test_a_rehearsal_without_its_tiny_model_says_how_to_build_it(tmp_path):
    r = results(MATRIX["rehearsal"].replace(hf_cache=str(tmp_path)), FakeHost(), tmp_path)["disk"]
    assert (r.status, r.fix) == ("FAIL", "build it: make tiny-model")


# --- the gateway's key file (make keys) ---

def gateway_render(tmp_path, keys: str | None, mode=0o600, uid=None):
    """A --gateway render in tmp_path/compose whose key secret is tmp_path/secrets/api-keys."""
    compose_dir = tmp_path / "compose"
    compose_dir.mkdir(exist_ok=True)
    profile = MATRIX["vllm-gateway"]
    text = render_compose(profile, compose_dir)
    # The render points at the repo's secrets/: point it at this test's folder instead.
    (compose_dir / "compose.yaml").write_text(
        text.replace(
            f'file: "{os.path.relpath(ROOT, compose_dir)}/secrets/api-keys"', 'file: "../secrets/api-keys"'))
    if keys is not None:
        (tmp_path / "secrets").mkdir(exist_ok=True)
        path = tmp_path / "secrets" / "api-keys"
        path.write_text(keys)
        path.chmod(mode)
        if uid is not None and os.geteuid() == 0:
            os.chown(path, uid, uid)
    return profile, compose_dir


@pytest.mark.parametrize("keys,mode,uid,status,text", [
    (None, 0o600, None, "FAIL", "no key file at"),
    ("\n\n", 0o600, None, "FAIL", "holds no key"),
    ("glm5-k1-aaaaaaaaaaaaaaaa\nglm5-k2-bbbbbbbbbbbbbbbb\n", 0o600, 65534, "PASS", "2 key(s) in"),
    ("glm5-k1-aaaaaaaaaaaaaaaa\n", 0o644, 65534, "WARN", "mode 644"),
], ids=["missing", "empty", "two-keys", "world-readable"])
def test_api_keys(tmp_path, keys, mode, uid, status, text):
    profile, compose_dir = gateway_render(tmp_path, keys, mode, uid)
    got = results(profile, FakeHost(), tmp_path, compose_dir=compose_dir)["api-keys"]
    assert got.status == status and text in got.measured
    assert "aaaaaaaa" not in got.measured + got.fix
    if status != "PASS":
        assert got.fix


def test_api_keys_owned_by_root_is_a_warning(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to own a file as root")
    profile, compose_dir = gateway_render(tmp_path, "glm5-k1-aaaaaaaaaaaaaaaa\n")
    got = results(profile, FakeHost(), tmp_path, compose_dir=compose_dir)["api-keys"]
    assert got.status == "WARN" and "root" in got.fix


def test_api_keys_skipped_without_a_gateway(tmp_path):
    got = results(MATRIX["vllm-default"], FakeHost(), tmp_path)["api-keys"]
    assert got.status == "SKIP"
@pytest.mark.parametrize("fixture,status,measured", [
    ("engine-28.3.3.txt", "PASS", "Docker Engine 28.3.3"),
    ("engine-20.10.6.txt", "FAIL", "Docker Engine 20.10.6"),
])
def test_docker_engine_25_is_needed_for_start_interval(fixture, status, measured, tmp_path):
    got = results(MATRIX["vllm-default"], FakeHost(docker_version=fixture), tmp_path)["docker-engine"]
    assert (got.status, got.measured) == (status, measured)
    if status == "FAIL":
        assert got.fix.startswith("upgrade to Docker Engine 25 or newer")


def test_docker_version_without_a_daemon_fails_with_the_fix(tmp_path):
    got = results(MATRIX["vllm-default"], FakeHost(docker_version="no-daemon.txt"), tmp_path)["docker-engine"]
    assert got.status == "FAIL" and "no Server section" in got.measured and got.fix


def test_a_rehearsal_without_start_interval_takes_any_docker(tmp_path):
    got = results(MATRIX["rehearsal"], FakeHost(docker_version="engine-20.10.6.txt"), tmp_path)["docker-engine"]
    assert got.status == "SKIP"


@pytest.mark.parametrize("name,status", [
    ("vllm-default", "PASS"),            # CUDA 12 image, driver 570 >= 535
    ("sglang-default", "PASS"),
    ("vllm-v0.32.0", "FAIL"),            # CUDA 13 image needs 580
    ("vllm-v0.32.0-cu129", "PASS"),
    ("sglang-v0.5.23-cu130", "FAIL"),
])
def test_the_driver_must_run_the_images_cuda(name, status, tmp_path):
    got = results(MATRIX[name], FakeHost(smi="h200x8.csv"), tmp_path)["driver"]
    assert (got.status, got.measured) == (status, "driver 570.133.20")


def test_a_cuda13_image_on_an_older_driver_names_the_cuda12_build_of_the_same_release(tmp_path):
    got = results(MATRIX["vllm-v0.32.0"], FakeHost(smi="h200x8.csv"), tmp_path)["driver"]
    assert got.need == "driver 580+ for vllm/vllm-openai:v0.32.0 (CUDA 13)"
    assert got.fix == ("install NVIDIA driver 580 or newer, or re-render with --image vllm-v0.32.0-cu129 "
                       "(the same release for CUDA 12)")


def test_an_image_outside_the_catalog_warns_that_its_cuda_is_unknown(tmp_path):
    got = results(MATRIX["vllm-custom"], FakeHost(), tmp_path)["driver"]
    assert got.status == "WARN" and "not in the release catalog" in got.measured
