"""What the generator knows about models and GPUs. Sources: shared/research/glm5-serving-facts.md."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Model:
    repo: str
    served_name: str
    heads: int  # attention heads: the tensor-parallel size must divide this
    vram_gb: int  # minimum GPU memory to serve it (vLLM recipes' vram_minimum_gb)
    weights_gb: int  # checkpoint size on disk, roughly what each load reads
    context: int  # max_position_embeddings
    hopper_only: bool  # DeepGEMM (FP8 GEMMs, DSA indexer) needs sm90+: no A100
    rehearsal: bool = False  # the tiny CPU model: only for --rehearsal


MODELS = {
    m.repo: m
    for m in (
        # 744B MoE, FP8. 94.5 GiB weights per rank at TP 8 (GLM-5.3-FP8, same shape).
        Model("zai-org/GLM-5-FP8", "glm-5-fp8", 64, 893, 810, 202752, hopper_only=True),
        Model("zai-org/GLM-5", "glm-5", 64, 1786, 1510, 202752, hopper_only=True),
        # 355B MoE, FP8: the fallback that fits 8x H100 or 4x H200.
        Model("zai-org/GLM-4.7-FP8", "glm-4.7-fp8", 96, 430, 362, 202752, hopper_only=False),
        # Built locally by scripts/tinymodel.py; speaks GLM-5's output format on a CPU.
        Model("glm5-compose/tiny-glm5", "glm-5-fp8", 64, 0, 0, 8192, hopper_only=False, rehearsal=True),
    )
}


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_gb: int  # nominal, as sold: 8x H200 = 1128 GB
    label: str


GPUS = {
    g.name: g
    for g in (
        Gpu("h200", 141, "H200"),
        Gpu("h100", 80, "H100"),
    )
}
