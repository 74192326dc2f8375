"""The monitoring profile's Prometheus configuration, built as data from the engine's spec.

The scrape target is the engine service on the compose network at the engine's own port
(`Engine.port`): vLLM serves /metrics there always, SGLang with --enable-metrics (rendered by
its spec). Recording rules (monitoring/rules.yml) and the Grafana dashboard are static files
that cover both engines: their series carry an `engine` label instead of engine branches.
"""

from __future__ import annotations

SCRAPE_INTERVAL_S = 15
RULES_FILE = "rules.yml"
RULES_PATH = f"/etc/prometheus/{RULES_FILE}"  # mounted read-only from monitoring/
CONFIG_ENV = "PROMETHEUS_CONFIG"
# The container's root is read-only: the start writes the configuration (from CONFIG_ENV) into
# its /tmp tmpfs, then runs prometheus (on PATH in both the upstream and the Debian image).
PROMETHEUS_ENTRYPOINT = (
    "/bin/sh", "-c", f'printf "%s" "${CONFIG_ENV}" > /tmp/prometheus.yml && exec prometheus "$@"',
    "prometheus",
)
PROMETHEUS_COMMAND = (
    "--config.file=/tmp/prometheus.yml",
    "--storage.tsdb.path=/prometheus",
    "--storage.tsdb.retention.time=15d",
    "--web.listen-address=:9090",
)


def prometheus_config(engine_host: str, engine_port: int, *, interval_s: int = SCRAPE_INTERVAL_S,
                      rules_path: str = RULES_PATH) -> dict:
    """prometheus.yml as a dict (JSON is YAML, so it is placed as JSON)."""
    return {
        "global": {"scrape_interval": f"{interval_s}s", "evaluation_interval": f"{interval_s}s"},
        "rule_files": [rules_path],
        "scrape_configs": [
            {
                "job_name": "engine",
                "metrics_path": "/metrics",
                # A GLM-5 /metrics page is ~100 KB; a runaway one must not fill Prometheus.
                "body_size_limit": "16MB",
                "scrape_timeout": f"{min(10, interval_s)}s",  # at most the interval
                "static_configs": [{"targets": [f"{engine_host}:{engine_port}"]}],
            },
        ],
    }
