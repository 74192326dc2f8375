"""Named workloads and the published numbers to compare them with, as data.

A workload is synthetic prompts of a fixed token length (input, output) sent at each
concurrency of a sweep. The GLM ones match the published benchmarks' shapes, so a run on the
same hardware and engine lands next to an anchor; `rehearsal` is sized for the tiny CPU model
(8192-token context, one CPU core), so CI stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    name: str
    input_tokens: int
    output_tokens: int
    concurrency: tuple[int, ...]  # the default sweep
    requests_per_stream: int  # requests at each level = this x concurrency (at least min_requests)
    min_requests: int
    about: str

    def requests(self, concurrency: int) -> int:
        return max(self.min_requests, self.requests_per_stream * concurrency)


WORKLOADS = {
    w.name: w
    for w in (
        # Chat: the SGLang cookbook's GLM-5 benchmark shape (1k in, 1k out, conc 1 and 100).
        Workload("chat-1k1k", 1024, 1024, (1, 4, 16, 64, 100), 2, 8,
                 "chat: 1,024 prompt tokens, 1,024 output tokens"),
        # Long prompt: the vLLM recipe's GLM-5 benchmark shape (8k in, 1k out, 32 prompts).
        Workload("long-8k1k", 8192, 1024, (1, 8, 32), 2, 8,
                 "long prompt: 8,192 prompt tokens, 1,024 output tokens"),
        # The tiny CPU model of the rehearsal: seconds per level, not a performance figure.
        Workload("rehearsal", 128, 32, (1, 4), 3, 4,
                 "rehearsal: 128 prompt tokens, 32 output tokens (tiny CPU model)"),
    )
}


@dataclass(frozen=True)
class Anchor:
    """One published measurement: what to compare a run with, and where it was published."""

    workload: str
    engine: str
    hardware: str  # e.g. "8xH200"
    concurrency: int
    output_tok_s: float
    tpot_ms: float | None
    ttft_ms: float | None
    acceptance_length: float | None
    setup: str
    source: str


ANCHORS = (
    Anchor("chat-1k1k", "sglang", "8xH200", 1, 118, 7.5, 291, 3.48,
           "GLM-5-FP8, SGLang, EAGLE steps 3 / topk 1 / draft 4",
           "sgl-project/sgl-cookbook docs/autoregressive/GLM/GLM-5.md, section 5.1 (7b5bd9c)"),
    Anchor("chat-1k1k", "sglang", "8xH200", 100, 1215, 38.7, 20600, 3.50,
           "GLM-5-FP8, SGLang, EAGLE steps 3 / topk 1 / draft 4",
           "sgl-project/sgl-cookbook docs/autoregressive/GLM/GLM-5.md, section 5.1 (7b5bd9c)"),
    # 32 prompts with vllm bench serve's defaults (request rate inf, no max concurrency): all 32
    # in flight at once. The recipe ran GLM-5.1 with MTP n=3; the bundle's default is n=1.
    Anchor("long-8k1k", "vllm", "8xH200", 32, 527, 35, 13400, 1.64,
           "GLM-5.1-FP8, vLLM, MTP num_speculative_tokens 3, 32 prompts",
           "vllm-project/recipes GLM/GLM5.md (8959cf6)"),
)


def anchors_for(workload: str, engine: str | None, hardware: str | None) -> list[Anchor]:
    """The published points for this workload measured on the same engine and hardware."""
    return [a for a in ANCHORS
            if a.workload == workload and a.engine == engine and a.hardware == hardware]
