"""8x B200 (Blackwell): the target, its launch image, its recipe's flags by image, its refusals."""

from pathlib import Path

import pytest
import yaml

from recipe.catalog import MODELS, TARGETS
from recipe.profile import build, target_recipe
from recipe.releases import RELEASES

ROOT = Path(__file__).resolve().parent.parent
B200 = ["--gpu-type", "b200"]

REFUSALS = [
    # BF16 is ~1786 GB: two hosts of 8x B200 (2880 GB), as H200 BF16 is told.
    ([*B200, "--model", "zai-org/GLM-5"],
     "Error: --gpu-type b200: zai-org/GLM-5 needs ~1786 GB of GPU memory and 8x B200 has 1440 GB. Fix: use two "
     "hosts of 8x B200 (--nodes 2 --head-address HEAD_IP), or --model zai-org/GLM-5-FP8 (~893 GB), or --model "
     "zai-org/GLM-4.7-FP8 (~430 GB)"),
    ([*B200, "--gpus", "4"],
     "Error: --gpus 4: zai-org/GLM-5-FP8 needs ~893 GB of GPU memory and 4x B200 has 720 GB. Fix: use 8x H200 "
     "(--gpu-type h200 --gpus 8), or --gpus 8, or --model zai-org/GLM-4.7-FP8 (~430 GB)"),
    # The launch builds are per architecture.
    ([*B200, "--engine", "sglang", "--image", "sglang-glm5-hopper"],
     "Error: --image lmsysorg/sglang:glm5-hopper: the Hopper build: its sgl-kernel does not run GLM-5 on B200 "
     "(sglang#18595), for H200, H100, H20 (96 GB), not B200. Fix: leave --image out "
     "(lmsysorg/sglang:glm5-blackwell), or use --image sglang-v0.5.23-cu130 or sglang-v0.5.23-cu129"),
    (["--engine", "sglang", "--image", "lmsysorg/sglang:glm5-blackwell"],
     "Error: --image lmsysorg/sglang:glm5-blackwell: the Blackwell build ('For Blackwell GPU': zai-org/GLM-5 "
     "README, sglang#18595), for B200, not H200. Fix: leave --image out (lmsysorg/sglang:glm5-hopper), or use "
     "--image sglang-v0.5.23-cu130 or sglang-v0.5.23-cu129"),
    ([*B200, "--engine", "sglang", "--image", "vllm/vllm-openai:glm5"],
     "Error: --image vllm/vllm-openai:glm5: it holds vLLM, and --engine is sglang. Fix: use --engine vllm, or a "
     "SGLang image such as lmsysorg/sglang:glm5-blackwell"),
    # What the GPU's recipe renders is not given twice.
    ([*B200, "--engine", "sglang", "--image", "sglang-v0.5.23-cu130", "--engine-args", "--dsa-decode-backend flashmla_kv"],
     "Error: --engine-args --dsa-decode-backend: the generator renders --dsa-decode-backend itself. Fix: leave it "
     "out: the generator renders it for --gpu-type b200 (recipe/catalog.py)"),
    ([*B200, "--env", "VLLM_DEEP_GEMM_WARMUP=full"],
     "Error: --env VLLM_DEEP_GEMM_WARMUP: the generator sets it. Fix: leave it out: the generator renders it for "
     "--gpu-type b200 (recipe/catalog.py)"),
]


@pytest.mark.parametrize("args,message", REFUSALS, ids=[" ".join(a) for a, _ in REFUSALS])
def test_b200_refusals(args, message, refused):
    refused(args, message)


def test_help_names_b200_and_its_memory(run):
    out = " ".join(run("--help").output.split())
    assert "--gpu-type [h200|h100|h20|b200]" in out
    assert "b200 (180 GB)" in out and "h200 (141 GB)" in out


def _engine(p, rank=0):
    from recipe.render import render_compose

    return yaml.safe_load(render_compose(p, rank=rank))["services"]["engine"]


SGLANG_B200 = ["--attention-backend", "dsa", "--dsa-prefill-backend", "trtllm", "--dsa-decode-backend", "trtllm",
               "--moe-runner-backend", "flashinfer_trtllm"]


def test_sglang_on_b200_defaults_to_the_blackwell_build_with_its_launch_command(run, tmp_path):
    p = build(engine="sglang", gpu_type="b200")
    assert p.image == "lmsysorg/sglang:glm5-blackwell"
    engine = _engine(p)
    assert not set(engine["command"]) & {"--attention-backend", "--nsa-decode-backend", "--quantization"}
    result = run(*B200, "--engine", "sglang", "--output", str(tmp_path / "out.yaml"))
    assert ("note: lmsysorg/sglang:glm5-blackwell runs SGLang >0.5.8.post1,<0.5.9 (unconfirmed), older than "
            "0.5.23, the oldest proven to take the B200 recipe's --attention-backend --dsa-prefill-backend "
            "--dsa-decode-backend --moe-runner-backend: rendered without them (its own launch command; the engine "
            "picks its backends for the GPU). For them: --image sglang-v0.5.23-cu130 or sglang-v0.5.23-cu129."
            ) in result.output.splitlines()


@pytest.mark.parametrize("image", ["sglang-v0.5.23-cu130", "sglang-v0.5.23-cu129", "registry.example/sglang:mine"])
def test_sglang_on_b200_renders_the_recipe_flags_on_an_image_that_takes_them(image):
    command = _engine(build(engine="sglang", gpu_type="b200", image=image))["command"]
    at = command.index("--attention-backend")
    assert command[at:at + 10] == [*SGLANG_B200, "--quantization", "fp8"]


def test_the_recipe_flags_are_for_glm5_and_fp8_only_where_the_weights_are():
    # BF16 weights: no --quantization fp8 (it would quantize them online).
    bf16 = build(engine="sglang", gpu_type="b200", model="zai-org/GLM-5", nodes=2, head_address="10.0.0.1",
                 image="sglang-v0.5.23-cu130")
    for rank in (0, 1):
        command = _engine(bf16, rank)["command"]
        assert "--quantization" not in command and "--attention-backend" in command
    # GLM-4.7 has no sparse attention: the GLM-5 B200 recipe is not its.
    glm47 = build(engine="sglang", gpu_type="b200", model="zai-org/GLM-4.7-FP8", image="sglang-v0.5.23-cu130")
    assert target_recipe(glm47) == ((), {})


def test_vllm_on_b200_skips_the_deep_gemm_warmup_and_hopper_does_not():
    b200 = _engine(build(engine="vllm", gpu_type="b200"))
    assert b200["environment"]["VLLM_DEEP_GEMM_WARMUP"] == "skip"
    assert build(engine="vllm", gpu_type="b200").image == "vllm/vllm-openai:glm5"
    assert "VLLM_DEEP_GEMM_WARMUP" not in _engine(build(engine="vllm"))["environment"]


def test_every_recipe_flag_rendered_for_an_image_is_one_its_version_lists():
    """The flag names (recipe/flags/, from each version's parser); their values are judged by
    `make conformance` on the goldens."""
    for target in TARGETS.values():
        for engine, recipe in target.recipes.items():
            for r in RELEASES.values():
                if r.engine != engine or not r.cuda or not r.runs_on(target.name):
                    continue
                p = build(engine=engine, gpu_type=target.name, image=r.name)
                args, _ = target_recipe(p)
                listed = set((ROOT / "recipe" / "flags" / r.flags_file).read_text().split())
                for v in r.also_checked_with if args else ():
                    listed &= set((ROOT / "recipe" / "flags" / f"{engine}-{v}.txt").read_text().split())
                flags = {a for a in args if a.startswith("-")}
                assert flags <= listed, f"{r.name} on {target.name}: {sorted(flags - listed)} unknown to {r.checked_with}"


def test_b200_memory_and_fit():
    b200 = TARGETS["b200"]
    assert b200.memory_gb * 8 >= MODELS["zai-org/GLM-5-FP8"].vram_gb
    assert b200.memory_gb * 8 < MODELS["zai-org/GLM-5"].vram_gb <= b200.memory_gb * 16
