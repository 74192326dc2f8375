"""compose-lint (OWASP / CIS Docker rules) on every golden and checked-in render: its default gate
(nothing high or critical) passes, and every finding is either fixed in the render or suppressed
in .compose-lint.yml with its reason. The one finding left visible is CL-0005 (a port on every
interface), which a profile has exactly when --bind is not loopback."""

import ipaddress
import json
import subprocess
import sys

import pytest
import yaml

from recipe.goldens import MATRIX, NODES_MATRIX, golden_texts
from recipe.render import ROOT

CONFIG = ROOT / ".compose-lint.yml"
# The checked-in renders only: a rehearsal leaves compose/rehearsal.yaml (ignored by git) behind.
FILES = sorted(ROOT / rel for rel in golden_texts() if rel.suffix == ".yaml")


def lint(*args, config=CONFIG, cwd=ROOT):
    argv = [sys.executable, "-m", "compose_lint", "check", "--format", "json", "--strict-config",
            *(["--config", str(config)] if config else []), *map(str, args)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=120)
    return done, json.loads(done.stdout) if done.stdout.strip() else None


def profile_of(path):
    name = path.stem
    for matrix in (MATRIX, NODES_MATRIX):
        for key, p in matrix.items():
            if name == key or name.startswith(f"{key}-node"):
                return p
    return {"vllm": MATRIX["vllm-default"], "sglang": MATRIX["sglang-default"]}[name]


@pytest.fixture(scope="module")
def report():
    done, out = lint(*FILES)
    assert out is not None, done.stderr
    return done, out


def test_every_render_passes_the_default_gate(report):
    done, out = report
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr


def test_every_finding_is_fixed_or_suppressed_with_a_reason(report):
    _, out = report
    left = {}
    for f in out["findings"]:
        if f["suppressed"]:
            assert f["suppression_reason"], f
            continue
        left.setdefault(f["file"], []).append(f["rule_id"])
    for path in FILES:
        bind = ipaddress.ip_address(profile_of(path).bind)
        exposed = ["CL-0005"] if not bind.is_loopback else []
        assert left.get(str(path.relative_to(ROOT)), left.get(str(path), [])) == exposed, path


def expected_suppressed(p) -> list[tuple[str, str]]:
    """What each suppression may cover, by profile: one finding per reason, no more (a
    suppression is per rule and service, so a second CL-0010 such as pid: host would hide)."""
    out = [("CL-0010", "engine"), ("CL-0006", "engine"), ("CL-0007", "engine"), ("CL-0026", "engine"),
           ("CL-0019", "smoke")]
    if p.gateway and "@sha256:" not in p.gateway_image:  # the rehearsal's, built locally
        out.append(("CL-0019", "gateway"))
    if "@sha256:" not in p.image:
        out.append(("CL-0019", "engine"))
    if p.hf_cache == "/root" or p.hf_cache.startswith("/root/"):
        out.append(("CL-0025", "engine"))
    if p.nodes > 1 and not p.rehearsal:
        out += [("CL-0008", "engine"), ("CL-0008", "smoke"), ("CL-0008", "bench")]
    if p.ib:
        out.append(("CL-0029", "engine"))
    out.append(("CL-0019", "bench"))  # the bench profile: one host, or the head of two
    if p.hf_cache == "/root" or p.hf_cache.startswith("/root/"):
        out.append(("CL-0013", "bench"))
    if p.nodes == 1:  # the monitoring profile
        out.append(("CL-0019", "prometheus"))
        if not p.rehearsal:
            out.append(("CL-0019", "grafana"))
    return sorted(out)


def test_each_suppression_covers_only_its_reason(report):
    _, out = report
    for path in FILES:
        rel = str(path.relative_to(ROOT))
        got = sorted((f["rule_id"], f["service"]) for f in out["findings"]
                     if f["suppressed"] and f["file"] in (rel, str(path)))
        services = set(yaml.safe_load(path.read_text())["services"])  # a worker host has no sidecar
        assert got == [e for e in expected_suppressed(profile_of(path)) if e[1] in services], path


def test_every_suppression_is_still_needed(report):
    """A suppression no render triggers any more is a stale reason: drop it."""
    _, out = report
    used = {(f["rule_id"], f["service"]) for f in out["findings"] if f["suppressed"]}
    config = yaml.safe_load(CONFIG.read_text())["rules"]
    listed = {(rule, service) for rule, body in config.items() for service in body.get("exclude_services", ())}
    assert listed == {(rule, service) for rule, service in used if rule in listed_rules(config, per_service=True)}
    # A rule-level entry (CL-0019: every service, see the file) must still be used by some finding.
    assert listed_rules(config, per_service=False) <= {rule for rule, _ in used}


def listed_rules(config, per_service: bool) -> set:
    return {rule for rule, body in config.items() if ("exclude_services" in body) == per_service}


@pytest.mark.parametrize("breakage, rule", [
    ("    ipc: host\n", "    ipc: host\n    privileged: true\n"),
    ("    ipc: host\n", "    ipc: host\n    cap_add: [SYS_ADMIN]\n"),
    ('      - type: bind\n        source: "../reports"',
     '      - /var/run/docker.sock:/var/run/docker.sock\n      - type: bind\n        source: "../reports"'),
])
def test_the_gate_fails_on_a_dangerous_render(tmp_path, breakage, rule):
    text = (ROOT / "tests" / "golden" / "vllm-default.yaml").read_text()
    assert breakage in text
    broken = tmp_path / "vllm.yaml"
    broken.write_text(text.replace(breakage, rule, 1))
    done, out = lint(broken)
    assert done.returncode == 1
    assert any(f["severity"] in ("high", "critical") and not f["suppressed"] for f in out["findings"])


def test_the_gate_fails_without_the_reasons(tmp_path):
    """The suppressions carry the gate: without them ipc: host alone fails it."""
    alone = tmp_path / "vllm.yaml"  # where no .compose-lint.yml is found
    alone.write_text((ROOT / "compose" / "vllm.yaml").read_text())
    done, out = lint(alone, config=None, cwd=tmp_path)
    assert done.returncode == 1
    assert {"CL-0010", "CL-0025"} <= {f["rule_id"] for f in out["findings"] if not f["suppressed"]}
