"""Hostile or careless input to the generator: one test per class of defect, several members each.

A refusal is exit 2 with one line (the option, the value shown escaped, the fix) and leaves
nothing written or changed. An accepted render is read back by the Compose v2 loader and means
what was asked: the mount is the path given, the profile agrees with it, nothing was injected,
no secret from the environment landed anywhere.
"""

import json
import os
import shutil
import signal
import socket
import stat
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import generator
from recipe.escape import compose_unescape
from stack.rendered import load_render

SECRET = "hf_TOKENvalue0123456789"
# Line breaks, a tab, an escape sequence, NUL, NEL, the Unicode line separator, a bidi override,
# a lone surrogate (an undecodable byte in argv).
CONTROL = ["\n", "\r", "\r\n", "\t", "\x1b[2J", "\x00", "\x85", "\u2028", "\u202e", "\udcff"]


@pytest.fixture
def run(tmp_path, monkeypatch):
    """The CLI with .last-render and the default folder in tmp_path/state (never the repo's)."""
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setattr(generator, "LAST_RENDER", state / ".last-render")
    monkeypatch.setattr(generator, "DEFAULT_DIR", state)

    def invoke(*args, catch=False):
        # A hang (a FIFO opened for reading) fails the test instead of blocking the suite.
        signal.signal(signal.SIGALRM, hung)
        signal.alarm(20)
        try:
            return CliRunner().invoke(generator.main, list(args), catch_exceptions=catch)
        finally:
            signal.alarm(0)

    return invoke


def hung(signum, frame):
    raise TimeoutError("the generator hung for 20 s")


def snapshot(folder: Path) -> dict:
    """Every entry under folder with its type, size and mtime: what a refusal must leave alone."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = os.lstat(p)
        out[p] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def assert_refused(result, *parts):
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for part in parts:
        assert part in lines[0], lines[0]
    assert result.stdout == ""


def loaded(compose_config, path: Path, env: dict | None = None) -> dict:
    """The render as the Compose v2 loader resolves it, `$$` undone as for the container."""
    done = compose_config(path, "--format", "json",
                          env={"HF_TOKEN": SECRET, "COMPOSE_PROFILES": "smoke", **(env or {})})
    assert done.returncode == 0, done.stderr
    cfg = compose_unescape(json.loads(done.stdout))
    # The token reaches the engine's environment by name (passed through at `up`), nowhere else.
    assert cfg["services"]["engine"]["environment"].pop("HF_TOKEN") == SECRET
    assert SECRET not in json.dumps(cfg) and SECRET not in done.stderr
    return cfg


# --- 1. line breaks and control characters, in every string option -----------------------------

STRING_OPTIONS = {
    "--hf-cache": "/data/hf{c}",
    "--served-model-name": "glm-5{c}",
    "--image": "vllm/vllm-openai:glm5{c}",
    "--bind": "127.0.0.1{c}",
    "--model": "zai-org/GLM-5-FP8{c}",
    "--engine-args": "--max-num-seqs 2{c}",
    "--env": "NCCL_DEBUG=INFO{c}",
}
# Where the refusal names the value differently from the option's text.
SHOWN = {"--env": "--env NCCL_DEBUG: its value contains "}


@pytest.mark.parametrize("char", CONTROL, ids=repr)
@pytest.mark.parametrize("option", [*STRING_OPTIONS, "--output"])
def test_a_control_character_in_any_option_is_a_one_line_refusal(run, tmp_path, option, char):
    template = STRING_OPTIONS.get(option, str(tmp_path / "out{c}.yaml"))
    value = template.format(c=char)
    before = snapshot(tmp_path)
    result = run(option, value, "--output", str(tmp_path / "c.yaml")) if option != "--output" \
        else run(option, value)
    assert_refused(result, SHOWN.get(option, f"{option} {value!r}: "))
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("value", ["/data/x\ninclude:\n  - /tmp/evil.yaml\n#",
                                   "/data/x\nservices:\n  evil: {image: alpine, privileged: true}"])
def test_yaml_cannot_be_injected_through_the_header_comment(run, tmp_path, value):
    """The regenerate line echoes option values: a line break would end the comment."""
    assert_refused(run("--hf-cache", value, "--stdout"), "--hf-cache ", "line break or control character")


def test_a_scoped_ipv6_bind_is_refused(run):
    """Compose refuses a %zone in a port's address; the render would not load."""
    assert_refused(run("--bind", "fe80::1%eth0", "--stdout"), "--bind fe80::1%eth0: ",
                   "Docker cannot publish on a scoped IPv6 address")


# --- 2. `$` reaches Compose as data -----------------------------------------------------------

@pytest.mark.parametrize("path", ["/data/$USER/hf", "/data/${HF_TOKEN}", "/data/${X:?boom}", "/data/$$x",
                                  "/data/${HF_TOKEN:-x}/$", "/data/my cache/it's #1", "/données/hf"])
def test_a_path_is_mounted_as_given_and_the_profile_agrees(run, tmp_path, compose_config, path):
    out = tmp_path / "c.yaml"
    result = run("--hf-cache", path, "--output", str(out))
    assert result.exit_code == 0, result.output
    cfg = loaded(compose_config, out, env={"USER": "alice"})
    assert set(cfg["services"]) == {"engine", "smoke"}
    assert "include" not in cfg
    (mount,) = [v for v in cfg["services"]["engine"]["volumes"] if v["type"] == "bind"]
    assert mount["source"] == path
    assert cfg["x-profile"]["hf_cache"] == path
    assert load_render(out).profile.hf_cache == path
    assert SECRET not in out.read_text()


def test_the_rehearsal_cache_path_reaches_compose_as_data(run, tmp_path, compose_config, monkeypatch):
    cache = tmp_path / "$HF_TOKEN cache"
    monkeypatch.setenv("CACHE", str(cache))
    out = tmp_path / "r.yaml"
    assert run("--rehearsal", "--output", str(out)).exit_code == 0
    (mount,) = [v for v in loaded(compose_config, out)["services"]["engine"]["volumes"] if v["type"] == "bind"]
    assert mount["source"] == str(cache / "tiny-hf")


# --- 3. full matches: nothing trails a valid value --------------------------------------------

@pytest.mark.parametrize("option, value", [
    ("--served-model-name", "glm-5\n"), ("--served-model-name", "glm 5"), ("--served-model-name", "glm-5;x"),
    ("--image", "vllm/vllm-openai:glm5\n"), ("--image", "vllm/vllm-openai:glm5 x"),
    ("--image", "vllm/vllm-openai:glmß"), ("--image", "vllm/vllm-openai@sha256:" + "0" * 63),
])
def test_validation_matches_the_whole_value(run, tmp_path, option, value):
    result = run(option, value, "--output", str(tmp_path / "c.yaml"))
    assert_refused(result, f"{option} ")
    assert not (tmp_path / "c.yaml").exists()


# --- 4. write errors are one-line refusals ----------------------------------------------------

def test_write_errors_are_one_line_refusals(run, tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    cases = {
        str(plain / "x.yaml"): "a parent of it is a file",
        "/proc/nope/x.yaml": "choose another path",
        "/proc/self/x.yaml": "choose another path",
        "/sys/x.yaml": "",
    }
    for target, fix in cases.items():
        assert_refused(run("--output", target), f"Error: {target}: cannot write it (", fix)
    assert plain.read_text() == "x"


@pytest.mark.skipif(os.geteuid() != 0, reason="drops to another user: needs root")
def test_an_unwritable_folder_is_a_one_line_refusal_for_a_non_root_user():
    """As a user who cannot write the folder (root can write anywhere): fork, drop to nobody.
    The folder is in a fresh one of /tmp that nobody may enter (pytest's own is root-only)."""
    top = Path(tempfile.mkdtemp(prefix="hostile-"))
    top.chmod(0o755)
    folder = top / "ro"
    folder.mkdir(mode=0o755)
    out = folder / "c.yaml"
    CliRunner().invoke(generator.main, ["--stdout"])  # import and compile everything as root first
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child reports through the pipe)
        try:
            os.setgid(65534)
            os.setuid(65534)
            r = CliRunner().invoke(generator.main, ["--output", str(out)])
            os.write(write, json.dumps([r.exit_code, r.stderr]).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    code, stderr = json.loads(os.read(read, 65536))
    assert code == 2
    assert stderr == (f"Error: {out}: cannot write it (Permission denied); nothing written. "
                      "Fix: choose a folder you can write to, or fix its permissions\n")
    assert list(folder.iterdir()) == []
    shutil.rmtree(top)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00x", b"services: {}\n\x80\n", b"x" * (2 << 20)])
def test_an_existing_foreign_file_is_refused_and_kept(run, tmp_path, content):
    out = tmp_path / "c.yaml"
    out.write_bytes(content)
    assert_refused(run("--output", str(out)), f"Error: {out}: exists and is not a render (",
                   "Fix: pass --force to replace it")
    assert out.read_bytes() == content
    assert run("--output", str(out), "--force").exit_code == 0  # a regular file: --force replaces it


def test_an_unwritable_last_render_is_one_line_and_the_render_stays(run, tmp_path):
    state = tmp_path / "state"
    (state / ".last-render").mkdir()
    result = run("--output", str(state / "vllm.yaml"))
    assert result.exit_code == 0
    note = [line for line in result.stderr.splitlines() if "not recorded" in line]
    assert note == [f"note: the render is written, but not recorded ({state / '.last-render'}: is a folder): "
                    f"make up/down/smoke act on the previous one. Fix: make up COMPOSE_FILE={state / 'vllm.yaml'}"]
    assert (state / "vllm.yaml").is_file()


# --- 5. only a regular file (or nothing) is replaced ------------------------------------------

def make_fifo(path):
    os.mkfifo(path)


def make_socket(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    return s


def make_device(path):
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null


def make_link(path):
    target = path.with_name("target.yaml")
    target.write_text("kept\n")
    path.symlink_to(target)


def make_dangling_link(path):
    path.symlink_to(path.with_name("nowhere.yaml"))


SPECIAL = {"fifo": (make_fifo, "a named pipe (FIFO)"), "socket": (make_socket, "a socket"),
           "device": (make_device, "a character device"), "link": (make_link, "a symbolic link"),
           "dangling-link": (make_dangling_link, "a symbolic link")}


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
@pytest.mark.parametrize("kind", SPECIAL)
def test_a_special_file_at_output_is_refused_and_left_alone(run, tmp_path, kind, force):
    make, name = SPECIAL[kind]
    out = tmp_path / "c.yaml"
    keep = make(out)  # noqa: F841 (a bound socket stays open until the test ends)
    before = snapshot(tmp_path)
    result = run("--output", str(out), *(["--force"] if force else []))
    assert_refused(result, f"Error: {out}: is {name}; nothing written (only a regular file is replaced, "
                           "even with --force). Fix: choose another --output")
    assert snapshot(tmp_path) == before


# --- 6. no silent defaults: a given value is used or refused -----------------------------------

@pytest.mark.parametrize("args, shown", [
    (["--tp", "0"], "--tp 0: "), (["--gpus", "-1"], "--gpus -1: "), (["--mem-fraction", "0"], "--mem-fraction 0.0: "),
    (["--start-period", "0"], "--start-period 0: "), (["--spec-tokens", "0"], "--spec-tokens 0: "),
    (["--port", "0"], "--port 0: "), (["--rehearsal", "--max-model-len", "0"], "--max-model-len 0: "),
    (["--mem-fraction", "nan"], "--mem-fraction nan: should be a finite number"),
    (["--mem-fraction", "inf"], "--mem-fraction inf: should be a finite number"),
    (["--mem-fraction", "-inf"], "--mem-fraction -inf: should be a finite number"),
    (["--model", "zai-org/GLM-4.7-FP8", "--mem-fraction", "nan"], "--mem-fraction nan: should be a finite number"),
])
def test_a_zero_or_non_finite_value_is_refused_not_defaulted(run, tmp_path, args, shown):
    assert_refused(run(*args, "--output", str(tmp_path / "c.yaml")), shown)
    assert not (tmp_path / "c.yaml").exists()


# --- 7. dangerous mounts, and `~` expanded once -------------------------------------------------

@pytest.mark.parametrize("path", ["/", "//", "/etc", "/etc/", "/usr/lib/x", "/var/run/docker.sock", "/run/docker.sock",
                                  "/var/run", "/proc", "/sys/fs", "/dev", "/boot", "/root", "/home", "/var",
                                  "/var/lib/docker/volumes", "/srv/../etc", "/tmp/../../etc/x"])
def test_a_system_folder_as_hf_cache_is_refused(run, path):
    assert_refused(run("--hf-cache", path, "--stdout"), "--hf-cache ", "a system folder")


def test_a_link_to_a_system_folder_or_a_non_folder_is_refused(run, tmp_path):
    (tmp_path / "to-etc").symlink_to("/etc")
    assert_refused(run("--hf-cache", str(tmp_path / "to-etc"), "--stdout"), "(it resolves to /etc)")
    s = make_socket(tmp_path / "docker.sock")  # noqa: F841
    assert_refused(run("--hf-cache", str(tmp_path / "docker.sock"), "--stdout"), "exists and is not a folder")
    (tmp_path / "file").write_text("x")
    assert_refused(run("--hf-cache", str(tmp_path / "file"), "--stdout"), "exists and is not a folder")


def test_home_is_expanded_once_when_rendering(run, tmp_path, monkeypatch, compose_config):
    """Compose would expand `~` to the home of whoever runs it and read `~user` as a folder of
    that name under it; preflight and download would not. The render states the path itself."""
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    root_home = os.path.expanduser("~root")
    for given, expected in [(None, str(tmp_path / "me/.cache/huggingface")), ("~", str(tmp_path / "me")),
                            ("~/hf", str(tmp_path / "me/hf")), ("~root/hf", f"{root_home}/hf"),
                            ("rel/hf", str(Path.cwd() / "rel/hf"))]:
        out = tmp_path / "c.yaml"
        args = ["--output", str(out), "--force"] + (["--hf-cache", given] if given else [])
        assert run(*args).exit_code == 0
        cfg = loaded(compose_config, out, env={"HOME": "/somewhere/else"})
        (mount,) = [v for v in cfg["services"]["engine"]["volumes"] if v["type"] == "bind"]
        assert mount["source"] == cfg["x-profile"]["hf_cache"] == expected
    assert_refused(run("--hf-cache", "~no-such-user-here/hf", "--stdout"),
                   "--hf-cache ~no-such-user-here/hf: there is no user 'no-such-user-here' on this machine")


# --- 8. the exposure note: by address class, with --stdout too ---------------------------------

@pytest.mark.parametrize("bind", ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "::ffff:127.0.0.1"])
@pytest.mark.parametrize("stdout", [False, True])
def test_loopback_is_not_exposed(run, tmp_path, bind, stdout):
    result = run("--bind", bind, *(["--stdout"] if stdout else ["--output", str(tmp_path / "c.yaml")]))
    assert result.exit_code == 0
    assert "published on" not in result.stderr


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "2001:db8::1"])
@pytest.mark.parametrize("stdout", [False, True])
def test_any_other_address_is_named_as_exposed(run, tmp_path, bind, stdout):
    # Without the gateway such a --bind is refused (tests/test_gateway_render.py) unless said out loud.
    result = run("--bind", bind, "--allow-unauthenticated",
                 *(["--stdout"] if stdout else ["--output", str(tmp_path / "c.yaml")]))
    assert result.exit_code == 0
    assert (f"note: the engine is published on {bind} without keys: anyone who can reach this host there "
            "can use it and its management routes.") in result.stderr.splitlines()
    if stdout:
        assert "published on" not in result.stdout  # the render itself stays clean


# --- 9. no odd value of any option is a traceback ----------------------------------------------

ODD = ["", " ", "-", "0", "-1", "1e309", "nan", "99999999999999999999999", "0x10", "٣", "a" * 5000, "'", "\\",
       "$(id)", "${X}", "\x00", "\n", "é", "🙂", "..", "/", "//x", "-h", "1,2", ",", "0,,1", "::", "256.1.1.1"]
ALL_OPTIONS = ["--engine", "--model", "--gpu-type", "--gpus", "--tp", "--gpu-ids", "--speculative", "--spec-tokens",
               "--mem-fraction", "--max-model-len", "--served-model-name", "--port", "--bind", "--hf-cache", "--image",
               "--tool-call-parser", "--reasoning-parser", "--start-period", "--output", "--nodes", "--head-address",
               "--iface", "--max-num-seqs", "--kv-cache-dtype", "--restart", "--engine-args", "--env", "--pp"]
PROFILES = {"default": [], "rehearsal": ["--rehearsal"], "sglang": ["--engine", "sglang"],
            "two-hosts": ["--nodes", "2", "--head-address", "10.0.0.1", "--gpu-type", "h100"]}


@pytest.mark.parametrize("profile", PROFILES)
def test_no_odd_value_is_a_traceback(run, tmp_path, monkeypatch, profile):
    """Every option x odd values (empty, huge, NaN, non-ASCII digits, shell and Compose syntax, a
    path with no name, ...): exit 0, or exit 2 with one line (Click's own type errors keep their
    usage block). Two found this way: --tp 0 with two hosts (ZeroDivisionError) and --output /
    with two hosts (ValueError)."""
    monkeypatch.chdir(tmp_path)  # an --output such as "-" or "--stdout" is a file name here
    broken = []
    for option in ALL_OPTIONS:
        for value in ODD:
            args = [*PROFILES[profile], option, value]
            if option == "--output":
                if value and value[0] not in "/-":
                    args[-1] = str(tmp_path / value)
            else:
                args.append("--stdout")
            result = run(*args, catch=True)
            one_line = result.stderr.startswith("Usage:") or len(result.stderr.splitlines()) == 1
            if result.exit_code not in (0, 2) or (result.exit_code == 2 and not one_line):
                broken.append((args, result.exit_code, repr(result.exception), result.stderr[-300:]))
    assert broken == []
