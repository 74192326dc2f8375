"""The generator CLI: defaults, refusals (exit 2, one line, nothing written), safe writes."""

import os
import shlex

import pytest

import generator
from recipe import profile, render, store
from recipe.goldens import GOLDEN_HOME, MATRIX, golden_texts
from recipe.render import ROOT


def test_goldens_match_the_code():
    """Rendered output equals the checked-in files byte for byte (make golden rewrites them)."""
    for rel, text in golden_texts().items():
        assert (ROOT / rel).read_text() == text, f"{rel} drifted: run `make golden` and review the diff"


def test_rendering_twice_gives_identical_bytes():
    for p in MATRIX.values():
        assert render.render_compose(p) == render.render_compose(p)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_header_command_reproduces_the_golden(name, run, monkeypatch):
    """The regenerate line in each file's header is the exact command that makes it."""
    golden = (ROOT / "tests/golden" / f"{name}.yaml").read_text()
    line = next(l for l in golden.splitlines() if l.startswith("#   python generator.py"))
    args = shlex.split(line.split("python generator.py ", 1)[1])
    monkeypatch.chdir(ROOT / "compose")  # goldens render as if they lived in compose/
    monkeypatch.setenv("HOME", GOLDEN_HOME)  # and as if for CI's user: `~` is expanded when rendering
    result = run(*args, "--stdout")
    assert result.exit_code == 0, result.output
    assert result.stdout == golden


def test_default_vllm_carries_the_seed_recipe(run, tmp_path):
    out = tmp_path / "vllm.yaml"
    result = run("--output", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    for flag in ('"zai-org/GLM-5-FP8"', '"--tensor-parallel-size"\n      - "8"',
                 '"--speculative-config.method"\n      - "mtp"',
                 '"--speculative-config.num_speculative_tokens"\n      - "1"',
                 '"--tool-call-parser"\n      - "glm47"', '"--reasoning-parser"\n      - "glm45"',
                 '"--enable-auto-tool-choice"', '"--gpu-memory-utilization"\n      - "0.85"',
                 '"--served-model-name"\n      - "glm-5-fp8"', 'image: "vllm/vllm-openai:glm5"',
                 'entrypoint: ["vllm", "serve"]'):
        assert flag in text, flag
    assert (tmp_path / ".last-render").read_text() == f"{out.resolve()}\n"


def test_default_sglang_carries_the_seed_recipe(run, tmp_path):
    out = tmp_path / "sglang.yaml"
    assert run("--engine", "sglang", "--output", str(out)).exit_code == 0
    text = out.read_text()
    for flag in ('image: "lmsysorg/sglang:glm5-hopper"',
                 'entrypoint: ["python3", "-m", "sglang.launch_server"]',
                 '"--model-path"\n      - "zai-org/GLM-5-FP8"', '"--host"\n      - "0.0.0.0"',
                 '"--port"\n      - "30000"', '"--tp-size"\n      - "8"',
                 '"--speculative-algorithm"\n      - "EAGLE"', '"--speculative-num-steps"\n      - "3"',
                 '"--speculative-eagle-topk"\n      - "1"', '"--speculative-num-draft-tokens"\n      - "4"',
                 '"--tool-call-parser"\n      - "glm47"', '"--reasoning-parser"\n      - "glm45"',
                 '"--mem-fraction-static"\n      - "0.85"', '"--enable-metrics"',
                 '"--served-model-name"\n      - "glm-5-fp8"'):
        assert flag in text, flag
    assert "--enable-auto-tool-choice" not in text  # not an SGLang flag


REFUSALS = [
    (["--engine", "tgi"], "Error: Invalid value for '--engine': 'tgi' is not one of 'vllm', 'sglang'."),
    (["--model", "zai-org/GLM-6"],
     "Error: --model zai-org/GLM-6: unknown model. Fix: use one of: zai-org/GLM-5-FP8, zai-org/GLM-5, "
     "zai-org/GLM-4.7-FP8, zai-org/GLM-5.1-FP8, zai-org/GLM-5.1"),
    (["--model", "zai-org/GLM-5.1-FP8"],
     "Error: --model zai-org/GLM-5.1-FP8: needs vLLM 0.19.0 or newer, and vllm/vllm-openai:glm5 runs vLLM "
     ">0.15.1,<0.16.0. Fix: add --image vllm-v0.32.0 or vllm-v0.32.0-cu129, or use --model zai-org/GLM-5-FP8"),
    (["--engine", "sglang", "--model", "zai-org/GLM-5.1-FP8"],
     "Error: --model zai-org/GLM-5.1-FP8: needs SGLang 0.5.10 or newer, and lmsysorg/sglang:glm5-hopper runs "
     "SGLang >0.5.8.post1,<0.5.9. Fix: add --image sglang-v0.5.23-cu130 or sglang-v0.5.23-cu129, or use "
     "--model zai-org/GLM-5-FP8"),
    (["--tp", "6"],
     "Error: --tp 6: must divide zai-org/GLM-5-FP8's 64 attention heads. Fix: use --tp 4 or 8"),
    (["--model", "zai-org/GLM-4.7-FP8", "--tp", "5"],
     "Error: --tp 5: must divide zai-org/GLM-4.7-FP8's 96 attention heads. Fix: use --tp 6 or 8"),
    (["--tp", "16"], "Error: --tp 16: more than the 8 GPUs given by --gpus. Fix: use --tp 8 or raise --gpus "
     "(or --nodes 2 --head-address HEAD_IP: TP over two hosts)"),
    (["--gpu-type", "h100"],
     "Error: --gpu-type h100: zai-org/GLM-5-FP8 needs ~893 GB of GPU memory and 8x H100 has 640 GB. "
     "Fix: use 8x H200 (--gpu-type h200 --gpus 8), or 8x B200 (--gpu-type b200 --gpus 8), or two hosts of 8x H100 "
     "(--nodes 2 --head-address HEAD_IP), or --model zai-org/GLM-4.7-FP8 (~430 GB)"),
    (["--model", "zai-org/GLM-5"],
     "Error: --gpu-type h200: zai-org/GLM-5 needs ~1786 GB of GPU memory and 8x H200 has 1128 GB. "
     "Fix: use two hosts of 8x H200 (--nodes 2 --head-address HEAD_IP), or --model zai-org/GLM-5-FP8 (~893 GB), "
     "or --model zai-org/GLM-4.7-FP8 (~430 GB)"),
    (["--model", "zai-org/GLM-4.7-FP8", "--gpu-type", "h100", "--gpus", "4"],
     "Error: --gpus 4: zai-org/GLM-4.7-FP8 needs ~430 GB of GPU memory and 4x H100 has 320 GB. "
     "Fix: use 4x H200 (--gpu-type h200 --gpus 4), or --gpus 8, or 8x H20 (96 GB) (--gpu-type h20 --gpus 8), "
     "or 4x B200 (--gpu-type b200 --gpus 4)"),
    (["--speculative", "eagle"],
     "Error: --speculative eagle: vLLM cannot run it for GLM: vLLM needs a separate EAGLE draft model, "
     "and GLM ships none. Fix: use --speculative mtp, or off"),
    (["--engine", "sglang", "--speculative", "mtp"],
     "Error: --speculative mtp: SGLang cannot run it for GLM: SGLang runs GLM's MTP layer through its "
     "EAGLE algorithm. Fix: use --speculative eagle, or off"),
    (["--speculative", "off", "--spec-tokens", "2"],
     "Error: --spec-tokens 2: speculative decoding is off. Fix: leave --spec-tokens out, or turn "
     "--speculative on"),
    (["--spec-tokens", "0"],
     "Error: --spec-tokens 0: input should be greater than or equal to 1. Fix: use 1 to 8 (vLLM recipe: 1; "
     "SGLang recipe: 3)"),
    (["--mem-fraction", "1.2"],
     "Error: --mem-fraction 1.2: input should be less than or equal to 0.95. Fix: use a fraction between "
     "0.3 and 0.95 (recipe: 0.85)"),
    (["--mem-fraction", "0.6"],
     "Error: --mem-fraction 0.6: 8x H200 would give the engine 85 GB per GPU, and the weights alone take "
     "~101 GB. Fix: use --mem-fraction 0.8 or more GPUs"),
    (["--port", "70000"],
     "Error: --port 70000: input should be less than or equal to 65535. Fix: use a port from 1 to 65535"),
    (["--port", "0"],
     "Error: --port 0: input should be greater than or equal to 1. Fix: use a port from 1 to 65535"),
    (["--max-model-len", "300000"],
     "Error: --max-model-len 300000: longer than zai-org/GLM-5-FP8's context of 202752 tokens. "
     "Fix: use at most 202752, or leave it out"),
    (["--gpus", "9"], "Error: --gpus 9: input should be less than or equal to 8. Fix: use 1 to 8 GPUs on one host"),
    (["--image", "vllm/vllm-openai:glm 5"],
     "Error: --image vllm/vllm-openai:glm 5: not a valid image reference. Fix: use NAME[:TAG] or "
     "NAME@sha256:DIGEST, e.g. vllm/vllm-openai:glm5"),
    (["--image", "vllm/vllm-openai@sha256:abc"],
     "Error: --image vllm/vllm-openai@sha256:abc: not a valid image reference. Fix: use NAME[:TAG] or "
     "NAME@sha256:DIGEST, e.g. vllm/vllm-openai:glm5"),
    (["--bind", "localhost:80"],
     "Error: --bind localhost:80: not an IP address. Fix: use 127.0.0.1 (default), or 0.0.0.0 to publish "
     "on every interface"),
    (["--gpu-ids", "0,1"],
     "Error: --gpu-ids 0,1: must name 8 different GPUs, one per engine rank on this host. Fix: list 8 distinct "
     "device ids"),
    (["--rehearsal", "--engine", "sglang"],
     "Error: --engine sglang: SGLang cannot serve on a CPU (its kernels need CUDA), so it cannot be "
     "rehearsed. Fix: rehearse with --engine vllm; SGLang's flags are checked by `make conformance`"),
    (["--model", "glm5-compose/tiny-glm5"],
     "Error: --model glm5-compose/tiny-glm5: the tiny model is for rehearsals only. Fix: add --rehearsal, "
     "or use zai-org/GLM-5-FP8"),
    (["--engine", "sglang", "--tool-call-parser", "hermes"],
     "Error: --tool-call-parser hermes: SGLang 0.5.8.post1 (what lmsysorg/sglang:glm5-hopper is checked with) "
     "has no hermes tool call parser. Fix: use glm47 or glm45"),
    (["--served-model-name", "glm 5"],
     "Error: --served-model-name glm 5: not a usable model name. Fix: use letters, digits and . _ / - "
     "(e.g. glm-5-fp8)"),
]


@pytest.mark.parametrize("args,message", REFUSALS, ids=[" ".join(a) for a, _ in REFUSALS])
def test_refusals_are_one_line_exit_2_and_write_nothing(args, message, refused):
    refused(args, message)


def test_stdout_writes_no_file(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("--stdout")
    assert result.exit_code == 0 and result.output.startswith("# GLM-5 bundle")
    assert list(tmp_path.iterdir()) == []


def test_secret_in_environment_never_lands_in_a_file(run, tmp_path):
    secret = "hf_SECRETxyz1234567890"
    out = tmp_path / "c.yaml"
    for engine in ("vllm", "sglang"):
        assert run("--engine", engine, "--output", str(out), "--force", env={"HF_TOKEN": secret}).exit_code == 0
        assert secret not in out.read_text()
        assert "HF_TOKEN:" in out.read_text()  # passed through by name only
    assert all(secret not in p.read_text() for p in tmp_path.iterdir())


def test_rewrite_with_same_options_is_unchanged(run, tmp_path):
    out = tmp_path / "c.yaml"
    assert run("--output", str(out)).exit_code == 0
    result = run("--output", str(out))
    assert result.exit_code == 0 and "unchanged" in result.output


def test_new_options_replace_an_unedited_file(run, tmp_path):
    out = tmp_path / "c.yaml"
    run("--output", str(out))
    assert run("--output", str(out), "--spec-tokens", "3").exit_code == 0
    assert '"--speculative-config.num_speculative_tokens"\n      - "3"' in out.read_text()


def test_hand_edit_is_not_overwritten_without_force(run, tmp_path):
    out = tmp_path / "c.yaml"
    run("--output", str(out))
    edited = out.read_text().replace('- "0.85"', '- "0.9"')
    out.write_text(edited)
    result = run("--output", str(out))
    assert result.exit_code == 2
    assert result.output == (
        f"Error: {out}: edited by hand since it was generated (1 line(s) differ from the new render; "
        "first: yours has '- \"0.9\"'); nothing written. Fix: move the edit into generator options, "
        "or pass --force to discard it\n"
    )
    assert out.read_text() == edited
    assert run("--output", str(out), "--force").exit_code == 0
    assert '- "0.85"' in out.read_text()


def test_foreign_file_is_not_overwritten_without_force(run, tmp_path):
    out = tmp_path / "docker-compose.yaml"
    out.write_text("services: {}\n")
    result = run("--output", str(out))
    assert result.exit_code == 2
    assert result.output == (f"Error: {out}: exists and was not written by generator.py; nothing written. "
                             "Fix: pass --force to replace it, or choose another --output\n")
    assert out.read_text() == "services: {}\n"


def test_failed_write_leaves_the_old_file_and_no_temporaries(tmp_path, monkeypatch):
    out = tmp_path / "c.yaml"
    store.write(out, render.render_compose(profile.build()))
    before = out.read_text()

    def crash(*a):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(store.StoreError, match=r"c\.yaml: cannot write it \(disk full\); nothing written"):
        store.write(out, render.render_compose(profile.build(spec_tokens=2)))
    assert out.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]


def test_every_option_is_in_help(run):
    text = run("--help").output
    for option in ("--engine", "--model", "--gpu-type", "--gpus", "--tp", "--speculative", "--spec-tokens",
                   "--mem-fraction", "--max-model-len", "--served-model-name", "--port", "--bind",
                   "--hf-cache", "--image", "--output", "--stdout", "--force", "--rehearsal", "--offline"):
        assert option in text


def test_relative_hf_cache_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert profile.build(hf_cache="hf").hf_cache == str(tmp_path / "hf")


def test_readme_documents_every_option():
    readme = (ROOT / "README.md").read_text()
    for param in generator.main.params:
        if param.name != "help":
            assert f"`{param.opts[0]}" in readme, f"{param.opts[0]} is missing from README.md's options"


def test_a_rehearsal_render_does_not_become_the_deployment(run, tmp_path):
    out = tmp_path / "rehearsal.yaml"
    assert run("--rehearsal", "--output", str(out)).exit_code == 0
    assert out.exists() and not (tmp_path / ".last-render").exists()


# --- where a render goes, and what make up acts on (.last-render) ------------------------------

def test_an_unwritable_output_is_a_one_line_refusal(run, tmp_path):
    under_a_file = tmp_path / "plain"
    under_a_file.write_text("x")
    for target, fix in (("/proc/nope/x.yaml", "choose another path (--output)"),
                        (str(under_a_file / "x.yaml"), "a parent of it is a file, not a folder: choose another path")):
        result = run("--output", target)
        assert result.exit_code == 2
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {target}: cannot write it (")
        assert lines[0].endswith(f"); nothing written. Fix: {fix}")
    assert not (tmp_path / ".last-render").exists()


def test_last_render_records_only_renders_in_the_default_place(run, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run("--output", str(elsewhere / "mine.yaml"))
    assert result.exit_code == 0
    assert not (tmp_path / ".last-render").exists()
    assert (f"note: make up/down/smoke still act on the last render under compose/; for this file "
            f"use: make up COMPOSE_FILE={elsewhere / 'mine.yaml'}") in result.output
    assert run("--engine", "sglang").exit_code == 0  # the default place: compose/sglang.yaml
    assert (tmp_path / ".last-render").read_text() == f"{tmp_path / 'sglang.yaml'}\n"


def test_a_rehearsal_render_never_becomes_the_last_render(run, tmp_path):
    assert run("--rehearsal", "--hf-cache", str(tmp_path)).exit_code == 0
    assert (tmp_path / "rehearsal.yaml").exists() and not (tmp_path / ".last-render").exists()


# --- defaults: stated once (recipe/profile.py DEFAULTS), never a silent `x or default` ---------

@pytest.mark.parametrize("args, message", [
    (["--tp", "0"], "Error: --tp 0: input should be greater than or equal to 1. Fix: use a tensor-parallel size from 1 to 64"),
    (["--mem-fraction", "0"], "Error: --mem-fraction 0.0: input should be greater than or equal to 0.3. Fix: use a fraction between 0.3 and 0.95 (recipe: 0.85)"),
    (["--start-period", "0"], "Error: --start-period 0: input should be greater than or equal to 1. Fix: use 1 to 240 minutes (a cold GLM-5 load takes 10-40)"),
    (["--rehearsal", "--max-model-len", "0"], "Error: --max-model-len 0: input should be greater than or equal to 256. Fix: use at least 256 tokens, or leave it out for the model's full context"),
    (["--rehearsal", "--mem-fraction", "0.5"], "Error: --mem-fraction 0.5: a rehearsal runs on the CPU, with no GPU memory to share. Fix: leave --mem-fraction out with --rehearsal"),
])
def test_a_zero_is_refused_not_replaced_by_the_default(run, tmp_path, args, message):
    out = tmp_path / "c.yaml"
    result = run(*args, "--output", str(out))
    assert result.exit_code == 2
    assert result.output == message + "\n"
    assert not out.exists()


def test_help_shows_each_default_from_the_table(run):
    text = " ".join(run("--help").output.split())
    for field, default in profile.DEFAULTS.items():
        shown = default.help()
        if shown is not None:
            assert f"[default: {' '.join(shown.split())}]" in text, field


def test_cli_args_are_what_differs_from_the_defaults():
    p = profile.build(engine="sglang", gpus=4, model="zai-org/GLM-4.7-FP8")
    # --tp follows --gpus and the served name follows the model: neither is repeated.
    assert render.cli_args(p) == ["--engine", "sglang", "--model", "zai-org/GLM-4.7-FP8", "--gpus", "4"]
    assert render.cli_args(p.replace(tp=2)) == [
        "--engine", "sglang", "--model", "zai-org/GLM-4.7-FP8", "--gpus", "4", "--tp", "2"]


def test_images_lists_the_catalog_and_exits(run, tmp_path):
    result = run("--images")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["name", "image", "version"]
    from recipe.releases import RELEASES

    assert [l.split()[0] for l in lines[1:]] == list(RELEASES)
    assert "vllm/vllm-openai:glm5" in lines[1] and ">0.15.1,<0.16.0 (unconfirmed)" in lines[1]
    assert not list(tmp_path.iterdir())


def test_default_vllm_with_mtp_names_the_streamed_tool_bug_and_both_ways_out(run, tmp_path):
    result = run("--output", str(tmp_path / "out.yaml"))
    notes = [l for l in result.output.splitlines() if l.startswith("note: vllm/vllm-openai:glm5 has vllm#34449")]
    assert len(notes) == 1
    assert "Way out: turn MTP off (--speculative off), or use a release with the fix (vllm-v0.32.0" in notes[0]
    quiet = run("--speculative", "off", "--output", str(tmp_path / "off.yaml"))
    assert "vllm#34449" not in quiet.output


def test_a_catalog_name_renders_that_image_in_its_own_dialect(run, tmp_path):
    out = tmp_path / "out.yaml"
    result = run("--engine", "sglang", "--image", "sglang-v0.5.23-cu130", "--output", str(out))
    assert result.exit_code == 0
    text = out.read_text()
    assert 'image: "lmsysorg/sglang:v0.5.23-cu130"' in text and 'entrypoint: ["sglang", "serve"]' in text
    assert "note:" not in result.output.replace("note: make up", "")


def test_an_unknown_image_renders_the_newest_dialect_and_says_so(run, tmp_path):
    out = tmp_path / "out.yaml"
    result = run("--engine", "sglang", "--image", "registry.example/sglang:mine", "--output", str(out))
    assert result.exit_code == 0
    assert ("note: registry.example/sglang:mine is not in the release catalog (python generator.py --images): "
            "rendered with the newest sglang dialect (sglang-v0.5.23-cu130), its flags checked against sglang "
            "0.5.23") in result.output.splitlines()
    assert 'entrypoint: ["sglang", "serve"]' in out.read_text()
