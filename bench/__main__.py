"""python -m bench: load an OpenAI-compatible server with AIPerf and report how well it serves."""

from __future__ import annotations

import json
import re
import shutil
import sys
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

try:
    import click
except ImportError as exc:
    sys.exit(f"Error: {exc.name} is not installed. Fix: pip install -r bench/requirements.txt "
             f"-c bench/constraints.txt")

from . import metrics, report
from .run import Config, run_level
from .workloads import WORKLOADS, anchors_for

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
URL_RE = re.compile(r"https?://[^\s/?#]+(?:/[^\s?#]*)?")
CONCURRENCY_RE = re.compile(r"[1-9][0-9]{0,4}(?:,[1-9][0-9]{0,4})*")
HARDWARE_RE = re.compile(r"[1-9][0-9]?x[A-Za-z0-9-]{1,32}")
MODELS_TIMEOUT_S = 10.0
MODELS_MAX_BYTES = 1024 * 1024


class Refusal(click.UsageError):
    """One line: the option, the value, what is wrong, the fix. Click prints it, exit 2."""

    def __init__(self, option: str, value, problem: str, fix: str):
        super().__init__(f"{option} {value!r}: {problem}. Fix: {fix}")


def shown_url(url: str) -> str:
    """Credentials in a URL are secrets: never printed or reported."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def served_root(base_url: str, model: str) -> tuple[str | None, str | None]:
    """The repo or path the server loaded `model` from (vLLM and SGLang report it as `root`
    in /v1/models), or why the server could not be asked."""
    url = base_url + "/v1/models"
    try:
        with urllib.request.urlopen(url, timeout=MODELS_TIMEOUT_S) as resp:
            body = resp.read(MODELS_MAX_BYTES + 1)
    except urllib.error.HTTPError as err:
        return None, f"GET {shown_url(url)}: HTTP {err.code}"
    except (urllib.error.URLError, OSError) as err:
        return None, f"GET {shown_url(url)}: {getattr(err, 'reason', err)}"
    if len(body) > MODELS_MAX_BYTES:
        return None, f"GET {shown_url(url)}: larger than {MODELS_MAX_BYTES} bytes (size bound)"
    try:
        cards = json.loads(body).get("data") or []
    except (ValueError, AttributeError):
        return None, f"GET {shown_url(url)}: not an OpenAI model list"
    for card in cards:
        if isinstance(card, dict) and card.get("id") == model:
            root = card.get("root")
            return (root if isinstance(root, str) and root else None), None
    served = ", ".join(str(c.get("id")) for c in cards if isinstance(c, dict)) or "none"
    return None, f"the server does not serve {model!r} (it serves: {served})"


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--base-url", envvar="BENCH_BASE_URL", show_envvar=True, required=True,
              help="Server root, e.g. http://127.0.0.1:8000 (a trailing /v1 is dropped).")
@click.option("--model", envvar="BENCH_MODEL", show_envvar=True, required=True,
              help="The served model name, e.g. glm-5-fp8.")
@click.option("--workload", "workloads", envvar="BENCH_WORKLOADS", show_envvar=True, multiple=True,
              type=click.Choice(list(WORKLOADS)), default=("chat-1k1k", "long-8k1k"), show_default=True,
              help="Named workload; repeat for several. "
              + "; ".join(f"{w.name}: {w.about}" for w in WORKLOADS.values()) + ".")
@click.option("--concurrency", envvar="BENCH_CONCURRENCY", show_envvar=True,
              help="Comma-separated concurrency sweep, e.g. 1,4,16.  [default: each workload's own: "
              + "; ".join(f"{w.name} {','.join(map(str, w.concurrency))}" for w in WORKLOADS.values()) + "]")
@click.option("--requests", "requests_", envvar="BENCH_REQUESTS", show_envvar=True,
              type=click.IntRange(1, 100000),
              help="Requests at each level.  [default: per workload, 2 x concurrency, at least 8]")
@click.option("--tokenizer", envvar="BENCH_TOKENIZER", show_envvar=True,
              help="Hugging Face repo id or folder of the tokenizer, read from the HF cache (HF_HOME).  "
              "[default: the repo the server reports for --model in /v1/models]")
@click.option("--online-tokenizer", is_flag=True, envvar="BENCH_ONLINE_TOKENIZER", show_envvar=True,
              help="Allow a tokenizer download; by default the HF cache is read offline.")
@click.option("--hardware", envvar="BENCH_HARDWARE", show_envvar=True,
              help="The server's GPUs as COUNTxTYPE, e.g. 8xH200: the published numbers for the same "
              "hardware and engine are drawn and compared.  [default: none compared]")
@click.option("--metrics-url", envvar="BENCH_METRICS_URL", show_envvar=True,
              help="The engine's Prometheus page.  [default: BASE_URL/metrics]")
@click.option("--no-metrics", is_flag=True, help="Do not read the engine's /metrics.")
@click.option("--reports", envvar="BENCH_REPORTS", show_envvar=True, default="reports", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for bench-<time>.json, .md, .png and AIPerf's own files.")
@click.option("--level-timeout", envvar="BENCH_LEVEL_TIMEOUT", show_envvar=True, default=3600.0,
              show_default=True, type=click.FloatRange(1, 86400),
              help="Seconds one concurrency level may take before it is stopped.")
@click.option("--request-timeout", envvar="BENCH_REQUEST_TIMEOUT", show_envvar=True, default=1800.0,
              show_default=True, type=click.FloatRange(1, 86400),
              help="Seconds one request may take before AIPerf counts it failed.")
def main(base_url, model, workloads, concurrency, requests_, tokenizer, online_tokenizer,
         hardware, metrics_url, no_metrics, reports, level_timeout, request_timeout):
    """Benchmark an OpenAI-compatible server (vLLM, SGLang, or any other) with NVIDIA AIPerf.

    For each workload and concurrency, AIPerf sends streamed chat requests of synthetic prompts
    of the workload's token lengths; around each level the engine's /metrics is read for the
    speculative-decoding acceptance, the KV-cache peak, preemptions and prefix-cache hits.
    Writes REPORTS/bench-<time>.json, .md (the table) and .png (throughput against latency,
    with the published numbers for the same engine and hardware). A progress bar runs on stderr.

    Exit codes: 0 every level completed without errors, 1 a level failed or had request
    errors, 2 usage, 3 the server did not answer.
    """
    if not URL_RE.fullmatch(base_url):
        raise Refusal("--base-url", shown_url(base_url), "expected http://host:port",
                      "give the server root, e.g. http://127.0.0.1:8000")
    base_url = base_url.rstrip("/")
    base_url = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
    levels_override = None
    if concurrency is not None:
        if not CONCURRENCY_RE.fullmatch(concurrency):
            raise Refusal("--concurrency", concurrency, "expected positive whole numbers separated by commas",
                          "e.g. --concurrency 1,4,16")
        levels_override = tuple(dict.fromkeys(int(c) for c in concurrency.split(",")))
    if hardware is not None and not HARDWARE_RE.fullmatch(hardware):
        raise Refusal("--hardware", hardware, "expected COUNTxTYPE", "e.g. --hardware 8xH200")
    if metrics_url is not None and not URL_RE.fullmatch(metrics_url):
        raise Refusal("--metrics-url", shown_url(metrics_url), "expected http://host:port/path",
                      "e.g. --metrics-url http://127.0.0.1:8000/metrics")
    if shutil.which("aiperf") is None:
        raise click.UsageError("aiperf is not installed. Fix: pip install -r bench/requirements.txt "
                               "-c bench/constraints.txt (or run the bench image: make bench)")
    try:
        reports.mkdir(parents=True, exist_ok=True)
        probe = reports / ".bench-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise Refusal("--reports", str(reports), f"cannot write there ({err.strerror})",
                      "give a writable folder") from None

    root, problem = served_root(base_url, model)
    if problem:
        click.echo(f"Error: {problem}. Fix: start the server (make up) or check --base-url and --model",
                   err=True)
        sys.exit(EXIT_UNREACHABLE)
    tokenizer = tokenizer or root or model
    started = datetime.now(timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    cfg = Config(base_url=base_url, model=model, tokenizer=tokenizer,
                 metrics_url=None if no_metrics else (metrics_url or base_url + "/metrics"),
                 artifacts=reports / f"bench-{stamp}", tokenizer_offline=not online_tokenizer,
                 level_timeout_s=level_timeout, request_timeout_s=request_timeout)
    plan = [(WORKLOADS[w], c) for w in dict.fromkeys(workloads)
            for c in (levels_override or WORKLOADS[w].concurrency)]
    click.echo(f"[bench] {shown_url(base_url)} model {model!r}, tokenizer {tokenizer!r}: "
               f"{len(plan)} levels ({', '.join(dict.fromkeys(w.name for w, _ in plan))})", err=True)
    results = []
    for workload, conc in plan:
        n = requests_ or workload.requests(conc)
        results.append(run_level(cfg, workload, conc, n, sys.stderr))

    engines = [r.engine.get("engine") for r in results if r.engine and r.engine.get("engine")]
    engine = engines[0] if engines else None
    versions = [r.client.get("aiperf_version") for r in results if r.client]
    total_cpu = sum(r.client_cpu_s or 0 for r in results)
    total_req = sum(r.client["completed"] for r in results if r.client)
    meta = {
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "base_url": shown_url(base_url),
        "model": model,
        "tokenizer": tokenizer,
        "aiperf_version": versions[0] if versions else None,
        "client_cpu_s": round(total_cpu, 2),
        "client_cpu_ms_per_request": round(1000 * total_cpu / total_req, 1) if total_req else None,
        "artifacts": str(cfg.artifacts),
    }
    doc = report.document(meta=meta, results=results, engine=engine, hardware=hardware)
    base = reports / f"bench-{stamp}"
    png = base.with_suffix(".png")
    title = f"{model} on {engine or 'unknown engine'}, {hardware or 'hardware not given'}"
    from .plot import plot

    plot(png, results, anchors_for_all(results, engine, hardware), title)
    report.write_json(doc, base.with_suffix(".json"))
    md = report.markdown(doc, results, png.name)
    report.write_atomic(base.with_suffix(".md"), md.encode())
    click.echo(report.markdown_table(results), nl=False)
    for line in doc["comparisons"]:
        click.echo(line)
    click.echo(f"[bench] client CPU {meta['client_cpu_ms_per_request']} ms per request (AIPerf, "
               f"including its start-up); reports: {base}.json, .md, .png")
    sys.exit(EXIT_OK if doc["ok"] else EXIT_FAILED)


def anchors_for_all(results, engine, hardware):
    return [a for w in dict.fromkeys(r.workload for r in results)
            for a in anchors_for(w, engine, hardware)]


if __name__ == "__main__":
    main(prog_name="python -m bench")
