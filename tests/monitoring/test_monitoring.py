"""The monitoring profile's files, judged by Prometheus's own promtool (Debian's package,
scripts/promtool.sh): the config for both engines, the recording rules and their unit tests,
and the Grafana dashboard (Grafana cannot run here: its JSON structure is checked, and every
panel's query must parse with promtool and read only series the rules record).

Needs promtool (`make test-monitoring` fetches it); without it these skip, unless
MONITORING_REQUIRED=1 (CI), where a missing promtool fails.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from recipe.engines import ENGINES
from recipe.monitoring import RULES_FILE, prometheus_config

REPO = Path(__file__).resolve().parents[2]
MON = REPO / "monitoring"
FIXTURES = REPO / "tests" / "bench" / "fixtures"
DASHBOARD = MON / "grafana" / "dashboards" / "glm5-serving.json"
DATASOURCE = MON / "grafana" / "provisioning" / "datasources" / "prometheus.yml"


@pytest.fixture(scope="module")
def promtool():
    path = os.environ.get("PROMTOOL")
    if not path:
        cache = Path(os.environ.get("CACHE") or REPO / ".cache")
        found = sorted(cache.glob("prometheus-deb-*/usr/bin/promtool"))
        path = str(found[-1]) if found else None
    if not path or not shutil.which(path):
        if os.environ.get("MONITORING_REQUIRED"):
            pytest.fail("promtool missing: run scripts/promtool.sh (make test-monitoring)")
        pytest.skip("promtool missing: make test-monitoring fetches it")
    return path


def run(promtool, *args, cwd=None):
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def recorded_names() -> set[str]:
    doc = yaml.safe_load((MON / "rules.yml").read_text())
    return {r["record"] for g in doc["groups"] for r in g["rules"]}


@pytest.mark.parametrize("engine, interval", [("vllm", 15), ("sglang", 15), ("vllm", 5)])
def test_config_passes_promtool(promtool, engine, interval, tmp_path):
    config = prometheus_config("engine", ENGINES[engine].port, interval_s=interval, rules_path=RULES_FILE)
    (tmp_path / "prometheus.yml").write_text(json.dumps(config, indent=2))
    shutil.copy(MON / "rules.yml", tmp_path / RULES_FILE)
    result = run(promtool, "check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert config["scrape_configs"][0]["static_configs"] == [
        {"targets": [f"engine:{ENGINES[engine].port}"]}]


def test_rules_pass_promtool_check_and_their_unit_tests(promtool):
    check = run(promtool, "check", "rules", "rules.yml", cwd=MON)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 22 rules found" in check.stdout
    test = run(promtool, "test", "rules", "rules.test.yml", cwd=MON)
    assert test.returncode == 0, test.stdout + test.stderr


def test_promtool_rejects_a_broken_rule_and_a_wrong_expectation(promtool, tmp_path):
    rules = (MON / "rules.yml").read_text()
    (tmp_path / "rules.yml").write_text(rules.replace("sum(rate(vllm:generation_tokens_total[1m]))",
                                                      "sum(rate(vllm:generation_tokens_total[1m])"))
    assert run(promtool, "check", "rules", "rules.yml", cwd=tmp_path).returncode != 0
    # The acceptance length without the bonus token: the unit test must catch it.
    (tmp_path / "rules.yml").write_text(rules.replace(
        "1 + sum(rate(vllm:spec_decode_num_accepted_tokens_total[5m]))",
        "sum(rate(vllm:spec_decode_num_accepted_tokens_total[5m]))"))
    shutil.copy(MON / "rules.test.yml", tmp_path)
    result = run(promtool, "test", "rules", "rules.test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "glm5:spec_acceptance_length:ratio" in result.stdout + result.stderr


def test_every_engine_metric_in_the_rules_is_on_a_page_of_that_engine():
    from prometheus_client.parser import text_string_to_metric_families

    names = set()
    for page in ("vllm-0.32-cpu-ngram-after.prom", "sglang-0.5.23-eagle-after.prom"):
        for family in text_string_to_metric_families((FIXTURES / page).read_text()):
            names |= {s.name for s in family.samples}
    used = set(re.findall(r"\b((?:vllm|sglang):[a-z_]+)", (MON / "rules.yml").read_text()))
    assert used and used <= names, used - names


def test_dashboard_structure():
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] == "glm5-serving" and dash["title"]
    datasource_uid = yaml.safe_load(DATASOURCE.read_text())["datasources"][0]["uid"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) >= 7
    for p in dash["panels"]:
        assert p["type"] == "timeseries" and p["title"]
        assert set(p["gridPos"]) == {"h", "w", "x", "y"} and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        assert p["datasource"]["uid"] == datasource_uid
        assert p["targets"] and all(t["datasource"]["uid"] == datasource_uid for t in p["targets"])
        assert len({t["refId"] for t in p["targets"]}) == len(p["targets"])


def test_every_panel_query_parses_and_reads_only_recorded_series(promtool, tmp_path):
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    recorded = recorded_names()
    for expr in exprs:
        series = set(re.findall(r"\b(glm5:[a-z_0-9:]+)", expr))
        assert series and series <= recorded, expr
        assert not re.search(r"\b(vllm|sglang):", expr), f"raw engine metric in a panel: {expr}"
    # promtool parses PromQL when it checks rules: one rule per panel query.
    rules = {"groups": [{"name": "panels", "rules": [
        {"record": f"panel:query_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    (tmp_path / "panels.yml").write_text(yaml.safe_dump(rules))
    result = run(promtool, "check", "rules", "panels.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # ... and that check fails on a query that does not parse.
    rules["groups"][0]["rules"].append({"record": "panel:broken", "expr": "rate(glm5:x[1m]"})
    (tmp_path / "panels.yml").write_text(yaml.safe_dump(rules))
    assert run(promtool, "check", "rules", "panels.yml", cwd=tmp_path).returncode != 0
