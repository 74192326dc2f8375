"""The profiles whose renders are checked in as goldens (tests/golden/NAME.yaml).

Both engines x speculative modes x the models and GPU types that fit, and one per engine image
of the release catalog. The conformance tests feed every one of these to the argument parser of
the engine version its image is checked with (recipe/releases.py).
"""

import os
from contextlib import contextmanager

from .profile import build
from .releases import RELEASES, known_bugs_page

# --hf-cache is rendered as an absolute path (`~` expanded when rendering), so goldens render as
# if HOME were CI's (root's): the same bytes on every machine, and CI's `make generate` must
# reproduce the checked-in compose/*.yaml.
GOLDEN_HOME = "/root"


@contextmanager
def golden_home():
    old = os.environ.get("HOME")
    os.environ["HOME"] = GOLDEN_HOME
    try:
        yield
    finally:
        if old is None:
            del os.environ["HOME"]
        else:
            os.environ["HOME"] = old


with golden_home():
    MATRIX = {
        "vllm-default": build(engine="vllm"),
        "vllm-mtp3": build(engine="vllm", spec_tokens=3),
        "vllm-nospec": build(engine="vllm", speculative="off"),
        "vllm-glm47-h100": build(engine="vllm", model="zai-org/GLM-4.7-FP8", gpu_type="h100"),
        "vllm-glm47-4xh200": build(engine="vllm", model="zai-org/GLM-4.7-FP8", gpus=4),
        "vllm-custom": build(engine="vllm", max_model_len=65536, mem_fraction=0.9, port=9000,
                             served_model_name="glm5", gpu_ids=(0, 1, 2, 3, 4, 5, 6, 7), offline=True,
                             image="vllm/vllm-openai@sha256:" + "0" * 64, start_period=90),
        "sglang-default": build(engine="sglang"),
        "sglang-nospec": build(engine="sglang", speculative="off"),
        "sglang-eagle5": build(engine="sglang", spec_tokens=5),
        "sglang-glm47-h100": build(engine="sglang", model="zai-org/GLM-4.7-FP8", gpu_type="h100"),
        "sglang-custom": build(engine="sglang", max_model_len=131072, mem_fraction=0.8, port=8080,
                               bind="0.0.0.0", allow_unauthenticated=True, hf_cache="/data/hf"),
        # The gateway: keys and the serving routes only; TLS and a rate limit; on the rehearsal's images.
        "vllm-gateway": build(engine="vllm", gateway=True, bind="0.0.0.0"),
        "sglang-gateway-tls": build(engine="sglang", gateway=True, bind="0.0.0.0", port=443,
                                    tls_cert="/srv/glm5/tls.crt", tls_key="/srv/glm5/tls.key", rate_limit=120),
        "rehearsal": build(rehearsal=True, hf_cache="/srv/tiny-hf"),
        # Production knobs and the user's own flags and environment, after the recipe's.
        "vllm-passthrough": build(engine="vllm", max_num_seqs=256, kv_cache_dtype="fp8", restart="unless-stopped",
                                  engine_args=("--max-num-batched-tokens 16384", "--enable-prefix-caching"),
                                  env=("NCCL_DEBUG=INFO", "VLLM_API_KEY")),
        "sglang-passthrough": build(engine="sglang", max_num_seqs=128, kv_cache_dtype="fp8", restart="on-failure",
                                    engine_args=("--chunked-prefill-size 8192 --watchdog-timeout=1200",),
                                    env=("NCCL_DEBUG=INFO", "SGLANG_ENABLE_SPEC_V2=1")),
        "rehearsal-gateway": build(rehearsal=True, hf_cache="/srv/tiny-hf", gateway=True),
        # GLM-5.1 needs an image newer than the launch ones.
        "vllm-glm51": build(engine="vllm", model="zai-org/GLM-5.1-FP8", image="vllm-v0.32.0"),
        "sglang-glm51": build(engine="sglang", model="zai-org/GLM-5.1-FP8", image="sglang-v0.5.23-cu130"),
        # 8x B200: each engine's launch image for it, and SGLang's recipe flags on an image that takes them.
        "vllm-b200": build(engine="vllm", gpu_type="b200"),
        "sglang-b200": build(engine="sglang", gpu_type="b200"),
        "sglang-b200-v0.5.23": build(engine="sglang", gpu_type="b200", image="sglang-v0.5.23-cu130"),
        # Each catalog image that no profile above renders (the launch images are the defaults).
        **{r.name: build(engine=r.engine, image=r.name) for r in RELEASES.values() if not r.default and r.cuda},
    }

# Two hosts: one file per host (NAME-node0.yaml the head, NAME-node1.yaml the worker).
with golden_home():
    NODES_MATRIX = {
        "vllm-fp8-2x8h100": build(engine="vllm", gpu_type="h100", nodes=2, head_address="10.0.0.1"),
        "vllm-bf16-2x8h200": build(engine="vllm", model="zai-org/GLM-5", nodes=2, head_address="10.0.0.1",
                                   iface="ib0", ib=True),
        # MTP with PP 2 on an image whose vLLM takes it (0.30 on).
    "vllm-fp8-2x8h100-mtp-v032": build(engine="vllm", gpu_type="h100", nodes=2, head_address="10.0.0.1",
                                       image="vllm/vllm-openai:v0.32.0", speculative="mtp"),
    "sglang-fp8-2x8h100": build(engine="sglang", gpu_type="h100", nodes=2, head_address="10.0.0.1"),
        "sglang-bf16-2x8h200": build(engine="sglang", model="zai-org/GLM-5", nodes=2, head_address="10.0.0.1",
                                     iface="ib0", ib=True),
        # BF16 on two hosts of 8x B200; SGLang's B200 recipe flags (no --quantization: BF16 weights).
        "vllm-bf16-2x8b200": build(engine="vllm", model="zai-org/GLM-5", gpu_type="b200", nodes=2,
                                   head_address="10.0.0.1"),
        "sglang-bf16-2x8b200": build(engine="sglang", model="zai-org/GLM-5", gpu_type="b200", nodes=2,
                                     head_address="10.0.0.1", image="sglang-v0.5.23-cu130"),
        "rehearsal-2nodes": build(rehearsal=True, hf_cache="/srv/tiny-hf", nodes=2, head_address="172.30.87.2"),
    }

GOLDEN_DIR = "tests/golden"


def golden_texts() -> dict:
    """Relative path -> expected text, for every golden and for the checked-in default renders."""
    from pathlib import Path

    from .render import ROOT, render_compose

    # Goldens render as if they lived in compose/, so their relative paths match the real files.
    out = {}
    with golden_home():
        for name, p in {**MATRIX, **NODES_MATRIX}.items():
            for rank in range(p.nodes):
                file = name if p.nodes == 1 else f"{name}-node{rank}"
                out[f"{GOLDEN_DIR}/{file}.yaml"] = render_compose(p, ROOT / "compose", rank)
    out["compose/vllm.yaml"] = out[f"{GOLDEN_DIR}/vllm-default.yaml"]
    out["compose/sglang.yaml"] = out[f"{GOLDEN_DIR}/sglang-default.yaml"]
    out["README.md"] = readme_with_sizing((ROOT / "README.md").read_text())
    out["docs/known-bugs.md"] = known_bugs_page()
    return {Path(k): v for k, v in out.items()}


def readme_with_sizing(readme: str) -> str:
    """README.md with the block between the sizing markers replaced by the current table."""
    from .sizing import markdown

    start, end = "<!-- sizing:start -->\n", "<!-- sizing:end -->"
    head, _, rest = readme.partition(start)
    _, _, tail = rest.partition(end)
    return f"{head}{start}{markdown()}{end}{tail}"


if __name__ == "__main__":
    # make golden: rewrite every golden and the checked-in defaults from the current code.
    from .render import ROOT
    from .store import write

    for rel, text in golden_texts().items():
        print(f"{write(ROOT / rel, text, force=True)}: {rel}")
