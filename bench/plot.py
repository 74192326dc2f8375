"""The PNG: output throughput against per-request latency (TPOT), one line per workload with a
point per concurrency, and the published anchors for the same engine and hardware as stars."""

from __future__ import annotations

from pathlib import Path

from .run import LevelResult
from .workloads import Anchor


def plot(path: Path, results: list[LevelResult], anchors: list[Anchor], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display in a container
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    workloads = list(dict.fromkeys(r.workload for r in results))
    colours = {w: f"C{i}" for i, w in enumerate(workloads)}
    for w in workloads:
        pts = sorted((r.concurrency, r.client["tpot_ms"]["p50"], r.client["output_tok_s"])
                     for r in results if r.workload == w and r.client
                     and r.client["tpot_ms"]["p50"] is not None and r.client["output_tok_s"] is not None)
        if not pts:
            continue
        ax.plot([p[1] for p in pts], [p[2] for p in pts], "o-", color=colours[w], label=f"{w} (yours)")
        for conc, x, y in pts:
            ax.annotate(f"c{conc}", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    for a in anchors:
        if a.tpot_ms is None:
            continue
        ax.plot([a.tpot_ms], [a.output_tok_s], "*", markersize=14, color=colours.get(a.workload, "k"),
                markeredgecolor="k", label=f"{a.workload} c{a.concurrency}: published ({a.hardware} {a.engine})")
    if not anchors:
        ax.text(0.01, 0.01, "no published number for this engine and hardware",
                transform=ax.transAxes, fontsize=8, color="0.4")
    if not ax.lines:  # every level failed: say so instead of an empty frame
        ax.text(0.5, 0.5, "no level completed", transform=ax.transAxes, ha="center")
    ax.set_xlabel("TPOT, median per request (ms)")
    ax.set_ylabel("output throughput (tokens/s)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.12)  # room for the labels
    if ax.lines:
        ax.legend(fontsize=8, loc="upper left")  # throughput rises to the right: keep it clear
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
