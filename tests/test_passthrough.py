"""--engine-args, --env and the production knobs: what renders, and every refusal (one line,
exit 2, nothing written). The rendered files are read back by the real Compose v2 loader."""

import shlex
import subprocess

import pytest
import yaml

from recipe import passthrough
from recipe.engines import ENGINES
from recipe.profile import build
from recipe.releases import DEFAULTS, NEWEST
from recipe.render import render_compose
from stack.rendered import compose_command, load_render, resolve_services

# --engine-args are judged by the flags of the version the image is checked with: the launch
# images' (the defaults) unless a test names another image.
VLLM_VERSION = DEFAULTS["vllm"].checked_with
SGLANG_VERSION = DEFAULTS["sglang"].checked_with


def engine_service(text: str) -> dict:
    return yaml.safe_load(text)["services"]["engine"]


def loaded(tmp_path, text: str) -> dict:
    """The engine service as the Compose v2 loader resolves it."""
    path = tmp_path / "compose" / "x.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return resolve_services(path)["engine"]


# --- what renders ----------------------------------------------------------------------------

def test_an_unlisted_flag_without_close_names_points_at_the_list(run, tmp_path):
    result = run("--engine-args", "--zzzzqqqq", "--output", str(tmp_path / "c.yaml"))
    assert result.output == (f"Error: --engine-args --zzzzqqqq: vLLM {VLLM_VERSION} has no such flag. "
                             f"Fix: see recipe/flags/vllm-{VLLM_VERSION}.txt for every flag it has\n")


def test_the_issue_command_renders_and_compose_reads_it(run, tmp_path):
    out = tmp_path / "compose" / "vllm.yaml"
    out.parent.mkdir()
    result = run("--engine-args", "--max-num-seqs 256", "--env", "NCCL_DEBUG=INFO", "--restart", "unless-stopped",
                 "--output", str(out))
    assert result.exit_code == 0, result.output
    engine = loaded(tmp_path, out.read_text())
    command = engine["command"]
    assert command[command.index("--max-num-seqs") + 1] == "256"
    assert engine["environment"]["NCCL_DEBUG"] == "INFO"
    assert engine["restart"] == "unless-stopped"
    # The engine's own spelling of a knob becomes the knob: the header says --max-num-seqs 256.
    assert "#   python generator.py --engine vllm --max-num-seqs 256 --restart unless-stopped --env NCCL_DEBUG=INFO" \
        in out.read_text()
    assert load_render(out).profile.max_num_seqs == 256


def test_engine_args_come_last_in_order_in_both_forms(tmp_path):
    p = build(engine_args=("--max-num-batched-tokens=16384 --enable-prefix-caching", "--seed 7"))
    command = loaded(tmp_path, render_compose(p, tmp_path / "compose"))["command"]
    assert command[-4:] == ["--max-num-batched-tokens=16384", "--enable-prefix-caching", "--seed", "7"]


def test_sglang_knobs_in_its_own_words(tmp_path):
    p = build(engine="sglang", max_num_seqs=64, kv_cache_dtype="fp8")
    command = loaded(tmp_path, render_compose(p, tmp_path / "compose"))["command"]
    assert command[command.index("--max-running-requests") + 1] == "64"
    assert command[command.index("--kv-cache-dtype") + 1] == "fp8_e4m3"
    assert "--max-num-seqs" not in command


def test_vllm_kv_cache_dtype_fp8(tmp_path):
    command = loaded(tmp_path, render_compose(build(kv_cache_dtype="fp8"), tmp_path / "compose"))["command"]
    assert command[command.index("--kv-cache-dtype") + 1] == "fp8"


def test_sglang_spelling_of_max_num_seqs_is_the_knob():
    p = build(engine="sglang", engine_args=("--max-running-requests=32",))
    assert p.max_num_seqs == 32 and p.engine_args == ()


def test_a_dollar_reaches_the_container_as_a_dollar(tmp_path):
    p = build(env=("PS_FORMAT=$HOME ${X:?no} $$",), engine_args=("--seed", "7", "--tokenizer-mode=$MODE"))
    text = render_compose(p, tmp_path / "compose")
    engine = loaded(tmp_path, text)
    assert engine["environment"]["PS_FORMAT"] == "$HOME ${X:?no} $$"
    assert engine["command"][-1] == "--tokenizer-mode=$MODE"
    path = tmp_path / "compose" / "x.yaml"
    assert load_render(path).profile.env == ("PS_FORMAT=$HOME ${X:?no} $$",)


def test_env_by_name_is_passed_through_from_the_shell(tmp_path):
    text = render_compose(build(env=("VLLM_API_KEY",)), tmp_path / "compose")
    assert "VLLM_API_KEY:  # passed through by name" in text
    path = tmp_path / "compose" / "x.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    done = subprocess.run([*compose_command(), "-f", str(path), "config", "--format", "json"],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin",
                                                                           "VLLM_API_KEY": "s3cret"})
    assert done.returncode == 0, done.stderr
    assert '"VLLM_API_KEY": "s3cret"' in done.stdout  # Compose takes it from the shell at `up`
    assert "s3cret" not in text


def test_restart_default_is_no():
    text = render_compose(build())
    assert engine_service(text)["restart"] == "no"


def test_header_command_reproduces_a_passthrough_render(run, tmp_path, monkeypatch):
    p = build(engine_args=("--max-num-batched-tokens 16384 --seed 7",), env=("NCCL_DEBUG=INFO", "A=b c"))
    text = render_compose(p, tmp_path)
    line = next(line for line in text.splitlines() if line.startswith("#   python generator.py"))
    monkeypatch.chdir(tmp_path)
    result = run(*shlex.split(line.split("python generator.py ", 1)[1]), "--stdout")
    assert result.exit_code == 0, result.output
    assert result.stdout == text


def test_the_note_says_which_version_judged_the_flags(run, tmp_path):
    result = run("--engine-args", "--seed 7", "--output", str(tmp_path / "c.yaml"))
    assert result.exit_code == 0
    assert (f"note: --engine-args were checked against the flags of vLLM {VLLM_VERSION}, what "
            "vllm/vllm-openai:glm5 is checked with.") in result.output
    other = run("--engine-args", "--seed 7", "--image", "example.org/vllm:mine", "--output", str(tmp_path / "d.yaml"))
    assert (f"note: --engine-args were checked against the flags of vLLM {NEWEST['vllm'].checked_with}, the "
            "newest known; which version example.org/vllm:mine holds is not known.") in other.output


# --- refusals --------------------------------------------------------------------------------

REFUSALS = [
    (["--engine-args", "--max-num-seqz 256"],
     f"Error: --engine-args --max-num-seqz: vLLM {VLLM_VERSION} has no such flag. Fix: did you mean --max-num-seqs "
     "(or --max-cpu-loras)?"),
    (["--image", "vllm-v0.32.0", "--engine-args", "--max-num-seqz 256"],
     f"Error: --engine-args --max-num-seqz: vLLM {NEWEST['vllm'].checked_with} has no such flag. Fix: did you mean "
     "--max-num-seqs (or --max-num-active-seqs, --max-num-queued-reqs)?"),
    # A flag vLLM 0.32 still has but the launch image's version does not: judged by the image's.
    (["--engine-args", "--max-num-active-seqs 8"],
     f"Error: --engine-args --max-num-active-seqs: vLLM {VLLM_VERSION} has no such flag. Fix: did you mean "
     "--max-num-seqs (or --max-num-batched-tokens, --max-num-partial-prefills)?"),
    (["--engine", "sglang", "--engine-args", "--chunked-prefil-size 8192"],
     f"Error: --engine-args --chunked-prefil-size: SGLang {SGLANG_VERSION} has no such flag. "
     "Fix: did you mean --chunked-prefill-size (or --disable-chunked-prefix-cache, --data-parallel-size)?"),
    (["--engine-args", "--tensor-parallel-size 4"],
     "Error: --engine-args --tensor-parallel-size: the generator renders --tensor-parallel-size itself. Fix: use --tp"),
    (["--engine-args", "-tp=4"],
     "Error: --engine-args -tp: the generator renders -tp itself. Fix: use --tp"),
    (["--engine", "sglang", "--engine-args", "--tp 4"],
     f"Error: --engine-args --tp: SGLang {SGLANG_VERSION} reads it as --tp-size, which the generator renders "
     "itself. Fix: use --tp"),
    (["--engine", "sglang", "--engine-args", "--tensor-parallel-size=4"],
     "Error: --engine-args --tensor-parallel-size: the generator renders --tensor-parallel-size itself. Fix: use --tp"),
    (["--engine", "sglang", "--engine-args", "--model x"],
     "Error: --engine-args --model: the generator renders --model itself. Fix: use --model"),
    (["--engine-args", "--no-enable-auto-tool-choice"],
     "Error: --engine-args --no-enable-auto-tool-choice: the generator renders --no-enable-auto-tool-choice "
     "itself. Fix: leave it out: --tool-call-parser turns automatic tool choice on"),
    (["--engine-args", "--max-num-batched 8192"],
     f"Error: --engine-args --max-num-batched: vLLM {VLLM_VERSION} reads it as --max-num-batched-tokens. "
     "Fix: write --max-num-batched-tokens in full"),
    (["--engine-args", "--tool-call-parser hermes"],
     "Error: --engine-args --tool-call-parser: the generator renders --tool-call-parser itself. "
     "Fix: use --tool-call-parser"),
    (["--engine-args", "--speculative-config.num_speculative_tokens 3"],
     "Error: --engine-args --speculative-config.num_speculative_tokens: the generator renders "
     "--speculative-config itself. Fix: use --speculative and --spec-tokens"),
    (["--engine", "sglang", "--engine-args", "--speculative-draft-model-path x"],
     "Error: --engine-args --speculative-draft-model-path: the generator renders "
     "--speculative-draft-model-path itself. Fix: use --speculative and --spec-tokens"),
    (["--engine-args", "--gpu-memory-utilization=0.9"],
     "Error: --engine-args --gpu-memory-utilization: the generator renders --gpu-memory-utilization "
     "itself. Fix: use --mem-fraction"),
    (["--engine", "sglang", "--engine-args", "--context-length 8192"],
     "Error: --engine-args --context-length: the generator renders --context-length itself. Fix: use --max-model-len"),
    (["--engine-args", "--port 9000"],
     "Error: --engine-args --port: the generator renders --port itself. Fix: use --port for the host "
     "port; the engine keeps 8000 in its container"),
    (["--engine-args", "--host 0.0.0.0"],
     "Error: --engine-args --host: the generator renders --host itself. Fix: use --bind for the host "
     "address; the engine listens on every address in its container"),
    (["--engine-args", "--served-model-name x"],
     "Error: --engine-args --served-model-name: the generator renders --served-model-name itself. "
     "Fix: use --served-model-name"),
    (["--engine-args", "--kv-cache-dtype fp8"],
     "Error: --engine-args --kv-cache-dtype: the generator renders --kv-cache-dtype itself. "
     "Fix: use --kv-cache-dtype"),
    (["--engine", "sglang", "--engine-args", "--enable-metrics"],
     "Error: --engine-args --enable-metrics: the generator renders --enable-metrics itself. "
     "Fix: leave it out: it is always rendered"),
    (["--engine-args", "--api-key sk-123"],
     "Error: --engine-args --api-key: a secret on the command line lands in the compose file and in "
     "`docker inspect`. Fix: put it in .env next to the compose file and pass it by name (--env NAME)"),
    (["--engine-args", "256"],
     "Error: --engine-args 256: engine arguments start with a flag. Fix: give flags and their values, "
     "e.g. --engine-args \"--max-num-seqs 256\""),
    (["--engine-args", "--seed '7"],
     "Error: --engine-args '--seed '\"'\"'7': no closing quotation. Fix: balance the quotes, e.g. "
     "--engine-args '--foo \"a b\"'"),
    (["--engine-args", "--max-num-seqs lots"],
     "Error: --engine-args --max-num-seqs lots: needs a whole number. Fix: give it as --max-num-seqs N"),
    (["--max-num-seqs", "128", "--engine-args", "--max-num-seqs 256"],
     "Error: --engine-args --max-num-seqs 256: --max-num-seqs 128 is given too. Fix: give it once, as --max-num-seqs"),
    (["--max-num-seqs", "0"],
     "Error: --max-num-seqs 0: input should be greater than or equal to 1. Fix: use 1 to 4096 requests at once"),
    (["--env", "NCCL-DEBUG=INFO"],
     "Error: --env NCCL-DEBUG: not an environment variable name. Fix: use KEY=VALUE with letters, digits "
     "and _ in KEY, not starting with a digit"),
    (["--env", "1X=y"],
     "Error: --env 1X: not an environment variable name. Fix: use KEY=VALUE with letters, digits and _ "
     "in KEY, not starting with a digit"),
    (["--env", "VLLM_API_KEY=sk-123"],
     "Error: --env VLLM_API_KEY=...: looks like a secret, and the compose file would hold it. Fix: put "
     "it in .env next to the compose file and pass it by name: --env VLLM_API_KEY"),
    (["--env", "MY_PASSWORD=hunter2"],
     "Error: --env MY_PASSWORD=...: looks like a secret, and the compose file would hold it. Fix: put "
     "it in .env next to the compose file and pass it by name: --env MY_PASSWORD"),
    (["--env", "HF_TOKEN=hf_x"],
     "Error: --env HF_TOKEN: the generator sets it. Fix: it is passed through by name already: export "
     "it, or put it in .env next to the compose file"),
    (["--env", "HF_HUB_OFFLINE=1"],
     "Error: --env HF_HUB_OFFLINE: the generator sets it. Fix: use --offline"),
    (["--env", "DG_JIT_CACHE_DIR=/tmp"],
     "Error: --env DG_JIT_CACHE_DIR: the generator sets it. Fix: leave it out: it points into the jit-cache volume"),
    (["--env", "VLLM_ENGINE_READY_TIMEOUT_S=99"],
     "Error: --env VLLM_ENGINE_READY_TIMEOUT_S: the generator sets it. Fix: use --start-period (this timer follows it)"),
    (["--env", "A=line\nbreak"],
     "Error: --env A: its value contains \\n, a line break or control character. Fix: give it on one line, "
     "without control characters"),
    (["--engine-args", "--seed\t7"],
     "Error: --engine-args '--seed\\t7': contains \\t, a line break or control character. Fix: give it on "
     "one line, without control characters"),
    (["--engine-args", "--chat-template-content-format openai"],
     "Error: --engine-args --chat-template-content-format: the generator renders --chat-template-content-format "
     "itself. Fix: leave it out: the generator renders it for vllm/vllm-openai:glm5 (vllm-glm5 in recipe/releases.py)"),
    (["--engine", "sglang", "--env", "SGLANG_DG_CACHE_DIR=/x"],
     "Error: --env SGLANG_DG_CACHE_DIR: the generator sets it. Fix: leave it out: the generator renders it for "
     "lmsysorg/sglang:glm5-hopper (sglang-glm5-hopper in recipe/releases.py)"),
    (["--env", "A=1", "--env", "A=2"],
     "Error: --env A: given twice. Fix: give each variable once"),
    (["--kv-cache-dtype", "fp16"],
     "Error: Invalid value for '--kv-cache-dtype': 'fp16' is not one of 'auto', 'fp8'."),
    (["--restart", "always"],
     "Error: Invalid value for '--restart': 'always' is not one of 'no', 'on-failure', 'unless-stopped'."),
    (["--image", "lmsysorg/sglang:v0.5.12-cu130"],
     "Error: --image lmsysorg/sglang:v0.5.12-cu130: it holds SGLang, and --engine is vllm. Fix: use "
     "--engine sglang, or a vLLM image such as vllm/vllm-openai:glm5"),
    (["--engine", "sglang", "--image", "docker.io/vllm/vllm-openai:v0.18.0"],
     "Error: --image docker.io/vllm/vllm-openai:v0.18.0: it holds vLLM, and --engine is sglang. Fix: use "
     "--engine vllm, or a SGLang image such as lmsysorg/sglang:glm5-hopper"),
]


@pytest.mark.parametrize("args,message", REFUSALS, ids=[" ".join(a) for a, _ in REFUSALS])
def test_refusals_are_one_line_exit_2_and_write_nothing(args, message, refused):
    refused(args, message)


def test_a_refused_secret_is_never_echoed(run, tmp_path):
    for args in (["--env", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI"], ["--env", "OPENAI_API_KEY=wJalrXUtnFEMI"]):
        result = run(*args, "--output", str(tmp_path / "out.yaml"))
        assert result.exit_code == 2 and "wJalrXUtnFEMI" not in result.output


def test_secret_flags_are_the_ones_that_carry_secrets():
    found = {e: sorted(f for f in passthrough.known_flags(e, v) if passthrough.SECRET_FLAG_RE.fullmatch(f))
             for e, v in (("vllm", NEWEST["vllm"].checked_with), ("sglang", NEWEST["sglang"].checked_with))}
    assert found == {"vllm": ["--api-key", "--hf-token"],
                     "sglang": ["--admin-api-key", "--api-key", "--ssl-keyfile-password"]}


def test_names_that_only_contain_a_secret_word_are_allowed():
    assert build(env=("TOKENIZERS_PARALLELISM=false", "NCCL_P2P_DISABLE=1")).env


def test_every_owned_flag_of_the_spec_is_refused():
    """Derived from the engine spec: every flag it owns, in both forms, is refused."""
    for name, spec in ENGINES.items():
        for flag in set(spec.owned_flags()) - set(spec.lifted_flags):  # lifted: taken as the option
            for form in ([f"{flag} 1"], [f"{flag}=1"]):
                with pytest.raises(Exception, match="renders"):
                    build(engine=name, engine_args=tuple(form))
