"""The bench and monitoring profiles in a render: what each service gets, for both engines, the
rehearsal and two hosts (none there: they reach the engine on the compose network)."""

import json

import pytest
import yaml
from click.testing import CliRunner

import generator
from recipe import profile, render
from recipe.catalog import GRAFANA_IMAGE, PROMETHEUS_IMAGE, REHEARSAL_PROMETHEUS_IMAGE
from recipe.engines import ENGINES


def services(**options) -> dict:
    rehearsal = options.pop("rehearsal", False)
    doc = yaml.safe_load(render.render_compose(profile.build(rehearsal=rehearsal, **options)))
    return doc


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_bench_service_targets_the_engine_with_the_cache_read_only(engine):
    doc = services(engine=engine)
    bench = doc["services"]["bench"]
    port = ENGINES[engine].port
    assert bench["profiles"] == ["bench"]
    assert bench["environment"]["BENCH_BASE_URL"] == f"http://engine:{port}"
    assert bench["environment"]["BENCH_HARDWARE"] == "8xH200"
    assert bench["environment"]["BENCH_WORKLOADS"] == "chat-1k1k long-8k1k"
    assert bench["environment"]["HF_HUB_OFFLINE"] == "1"
    # Not under /root: the bench runs as a non-root user, who cannot enter /root in its image.
    (cache,) = [v for v in bench["volumes"] if v["target"] == "/hf-cache"]
    assert cache["read_only"] is True
    assert bench["user"] == "${BENCH_USER:-10003:10003}" and bench["read_only"] is True
    assert bench["cap_drop"] == ["ALL"]
    assert bench["depends_on"] == {"engine": {"condition": "service_healthy"}}


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_prometheus_scrapes_the_engine_port_and_publishes_on_bind(engine):
    doc = services(engine=engine, prometheus_port=9191, grafana_port=3333)
    prom = doc["services"]["prometheus"]
    assert prom["image"] == PROMETHEUS_IMAGE and prom["profiles"] == ["monitoring"]
    assert prom["ports"] == ["127.0.0.1:9191:9090"]
    config = json.loads(prom["environment"]["PROMETHEUS_CONFIG"])
    assert config["scrape_configs"][0]["static_configs"] == [
        {"targets": [f"engine:{ENGINES[engine].port}"]}]
    assert config["rule_files"] == ["/etc/prometheus/rules.yml"]
    # A read-only root: the entrypoint writes the config into the /tmp tmpfs.
    assert prom["read_only"] is True and prom["tmpfs"] == ["/tmp"]
    assert prom["entrypoint"][:2] == ["/bin/sh", "-c"] and "--config.file=/tmp/prometheus.yml" in prom["command"]
    (rules,) = [v for v in prom["volumes"] if v["target"] == "/etc/prometheus/rules.yml"]
    assert rules["source"].endswith("monitoring/rules.yml") and rules["read_only"] is True
    grafana = doc["services"]["grafana"]
    assert grafana["image"] == GRAFANA_IMAGE and grafana["ports"] == ["127.0.0.1:3333:3000"]
    # The admin password comes from the environment, never from the file.
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"] is None


def test_rehearsal_uses_the_local_prometheus_and_no_grafana():
    doc = services(rehearsal=True)
    assert doc["services"]["prometheus"]["image"] == REHEARSAL_PROMETHEUS_IMAGE
    assert "grafana" not in doc["services"] and "grafana-data" not in doc["volumes"]
    assert doc["services"]["bench"]["environment"]["BENCH_WORKLOADS"] == "rehearsal"
    assert "BENCH_HARDWARE" not in doc["services"]["bench"]["environment"]
    config = json.loads(doc["services"]["prometheus"]["environment"]["PROMETHEUS_CONFIG"])
    assert config["global"]["scrape_interval"] == "5s"
    assert config["scrape_configs"][0]["scrape_timeout"] == "5s"  # never above the interval


def test_two_hosts_bench_from_the_head_and_no_monitoring():
    prof = profile.build(engine="sglang", nodes=2, gpu_type="h100", head_address="10.0.0.1")
    head, worker = (yaml.safe_load(render.render_compose(prof, rank=rank)) for rank in (0, 1))
    # The head's bench shares its host network and measures the API where the sidecar does.
    bench = head["services"]["bench"]
    assert bench["network_mode"] == "host" and bench["environment"]["BENCH_BASE_URL"] == f"http://127.0.0.1:{prof.port}"
    assert bench["environment"]["BENCH_HARDWARE"] == "16xH100"
    assert not {"prometheus", "grafana"} & set(head["services"]) and "prometheus-data" not in head["volumes"]
    assert set(worker["services"]) == {"engine"}


@pytest.mark.parametrize("args, message", [
    (["--prometheus-port", "8000"],
     "Error: --prometheus-port 8000: the same host port as --port. "
     "Fix: give each of --port, --prometheus-port and --grafana-port its own"),
    (["--grafana-port", "9090"],
     "Error: --grafana-port 9090: the same host port as --prometheus-port. "
     "Fix: give each of --port, --prometheus-port and --grafana-port its own"),
    (["--prometheus-port", "0"],
     "Error: --prometheus-port 0: input should be greater than or equal to 1. Fix: use a port from 1 to 65535"),
])
def test_port_refusals(args, message, tmp_path):
    out = tmp_path / "x.yaml"
    result = CliRunner().invoke(generator.main, [*args, "--output", str(out)])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == message
    assert not out.exists()


@pytest.mark.parametrize("golden", ["vllm-default", "sglang-default", "rehearsal"])
def test_the_compose_loader_accepts_both_profiles(compose_config, golden):
    from pathlib import Path

    path = Path(__file__).parent / "golden" / f"{golden}.yaml"
    done = compose_config(path, "--format", "json", env={"COMPOSE_PROFILES": "bench,monitoring"})
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert {"engine", "bench", "prometheus"} <= set(loaded["services"])
    # The loader resolved the rules' path from compose/ and left the config's JSON as it was.
    # `config` prints the script re-escaped ($$): the container gets one $ (make rehearse-bench).
    prom = loaded["services"]["prometheus"]
    assert prom["volumes"][0]["source"].endswith("/monitoring/rules.yml")
    assert json.loads(prom["environment"]["PROMETHEUS_CONFIG"])["rule_files"] == ["/etc/prometheus/rules.yml"]
    assert prom["entrypoint"][2].startswith('printf "%s" "$$PROMETHEUS_CONFIG" > /tmp/prometheus.yml')
