"""`python -m stack.download` against a local fake of the hub's file API (no hub is reachable here).

The fake answers the calls huggingface_hub's snapshot_download makes: the model info at a
revision (its commit sha), the recursive tree listing at that commit, and HEAD + GET on
resolve/<commit>/<file> with the headers the client needs (X-Repo-Commit, ETag, Content-Length),
Range requests included.
"""

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Response

from stack import download, hfcache
from stack.hfcache import weights_present
from recipe.goldens import MATRIX
from recipe.render import render_compose

ROOT = Path(__file__).resolve().parent.parent
REPO = "zai-org/GLM-5-FP8"
SHA = "5f1a7c0de2b94e6a8d3c1b7e9f0a2c4d6e8b0a13"
MIB = 1 << 20
TOKEN = "hf_s3cretTOKENvalue"
# A shard larger than huggingface_hub's 10 MiB read chunk, so a drop mid-file leaves bytes to resume from.
SHARD1 = bytes(range(256)) * (12 * MIB // 256)
SHARD2 = b"\x07" * 300_000
FILES = {
    "config.json": b'{"architectures": ["GlmMoeDsaForCausalLM"]}',
    "model.safetensors.index.json": json.dumps({"weight_map": {
        "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"}}).encode(),
    "model-00001-of-00002.safetensors": SHARD1,
    "model-00002-of-00002.safetensors": SHARD2,
}


class FakeHub:
    """The few endpoints of the hub that snapshot_download calls, for one repo at one commit."""

    def __init__(self, repo=REPO, files=FILES):
        self.repo, self.files = repo, files
        self.log = []  # (method, path, Range, Authorization)
        self.fail_get = set()  # files whose GET answers 500
        self.drop_once = {}  # file -> bytes sent before the connection drops, the first time
        self.routes = {}  # path -> handler(request), answered before the hub's own endpoints

    def lfs(self, name):
        return name.endswith(".safetensors")

    def etag(self, name):
        data = self.files[name]
        return hashlib.sha256(data).hexdigest() if self.lfs(name) else hashlib.sha1(data).hexdigest()

    def __call__(self, request):
        self.log.append((request.method, request.path, request.headers.get("Range"),
                         request.headers.get("Authorization")))
        if request.path in self.routes:
            return self.routes[request.path](request)
        api = f"/api/models/{self.repo}"
        if request.path in (f"{api}/revision/main", f"{api}/revision/{SHA}"):
            return Response(json.dumps({"id": self.repo, "sha": SHA, "private": False,
                                        "siblings": [{"rfilename": n} for n in self.files]}),
                            content_type="application/json")
        if request.path == f"{api}/tree/{SHA}":
            tree = []
            for name, data in self.files.items():
                entry = {"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                if self.lfs(name):
                    entry["lfs"] = {"oid": self.etag(name), "size": len(data), "pointerSize": 134}
                tree.append(entry)
            return Response(json.dumps(tree), content_type="application/json")
        match = re.fullmatch(rf"/{re.escape(self.repo)}/resolve/(?:main|{SHA})/(.+)", request.path)
        if not match or match.group(1) not in self.files:
            return Response("Repository not found", status=404, headers={"X-Error-Code": "RepoNotFound"})
        return self.serve(match.group(1), request)

    def serve(self, name, request):
        data = self.files[name]
        headers = {"X-Repo-Commit": SHA, "ETag": f'"{self.etag(name)}"', "Accept-Ranges": "bytes"}
        if request.method == "GET" and name in self.fail_get:
            return Response("upstream error", status=500)
        start = 0
        ranged = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range") or "")
        if request.method == "GET" and ranged:
            start = int(ranged.group(1))
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if request.method == "GET" and name in self.drop_once and not start:
            sent = self.drop_once.pop(name)

            def body():
                yield data[:sent]
                raise ConnectionAbortedError("the fake hub drops the connection")
            return Response(body(), headers={**headers, "Content-Length": str(len(data))})
        return Response(data[start:], status=206 if start else 200, headers=headers)

    def gets(self, name):
        return [entry for entry in self.log if entry[0] == "GET" and entry[1].endswith("/" + name)]


@pytest.fixture
def hub():
    server = HTTPServer(threaded=True)
    server.start()
    fake = FakeHub()
    server.expect_request(re.compile(".*")).respond_with_handler(fake)
    fake.url = server.url_for("/").rstrip("/")
    yield fake
    server.clear()
    server.stop()


@pytest.fixture
def compose(tmp_path):
    """A GLM-5-FP8 render whose HF cache is a temporary folder."""
    path = tmp_path / "compose" / "vllm.yaml"
    path.parent.mkdir()
    path.write_text(render_compose(MATRIX["vllm-default"].replace(hf_cache=str(tmp_path / "hf")),
                                   path.parent))
    return path


def run(compose, hub_url, *args, token=TOKEN, **env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    environ.update(HF_ENDPOINT=hub_url, HF_HOME=str(compose.parent.parent / "hf-home"),
                   HF_HUB_DOWNLOAD_TIMEOUT="10", HF_HUB_DISABLE_TELEMETRY="1", **env)
    if token:
        environ["HF_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "stack.download", "--compose-file", str(compose), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=180, env=environ)


def snapshot_file(compose, name):
    return compose.parent.parent / "hf" / "hub" / f"models--{REPO.replace('/', '--')}" / "snapshots" / SHA / name


def test_download_fills_the_profile_cache_and_says_how_to_go_offline(hub, compose):
    hf = compose.parent.parent / "hf"
    assert not weights_present(hf, REPO)
    done = run(compose, hub.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert weights_present(hf, REPO)
    for name, data in FILES.items():
        assert snapshot_file(compose, name).read_bytes() == data
    assert f"4 files, {download.human(sum(map(len, FILES.values())))}; 0 already in the cache; 4 to fetch" in done.stdout
    assert "HF_TOKEN set" in done.stdout
    # The token goes to the hub, never to the terminal.
    assert {entry[3] for entry in hub.log} == {f"Bearer {TOKEN}"}
    assert TOKEN not in done.stdout + done.stderr
    # The suggested command re-renders this profile with HF_HUB_OFFLINE=1.
    command = done.stdout.strip().splitlines()[-1].split()
    assert command[:2] == ["python", "generator.py"] and "--offline" in command
    from generator import main as generator

    rendered = CliRunner().invoke(generator, [*command[2:], "--stdout"])
    assert rendered.exit_code == 0, rendered.output
    assert 'HF_HUB_OFFLINE: "1"' in rendered.output
    assert str(hf) in rendered.output


def test_a_dropped_connection_resumes_the_file_with_a_range_request(hub, compose):
    name = "model-00001-of-00002.safetensors"
    hub.drop_once[name] = 11 * MIB
    done = run(compose, hub.url)
    assert done.returncode == 0, done.stdout + done.stderr
    ranges = [entry[2] for entry in hub.gets(name)]
    assert ranges[0] is None and ranges[1] == f"bytes={10 * MIB}-", ranges  # whole 10 MiB chunks were kept
    assert snapshot_file(compose, name).read_bytes() == SHARD1


def test_an_interrupted_download_resumes_on_the_next_run(hub, compose):
    hf = compose.parent.parent / "hf"
    hub.fail_get.add("model-00002-of-00002.safetensors")
    first = run(compose, hub.url)
    assert first.returncode == 1
    assert first.stderr.strip().splitlines()[-1].startswith("FAILED: ")
    assert "re-run" in first.stderr and "Traceback" not in first.stderr
    assert not weights_present(hf, REPO)
    assert snapshot_file(compose, "model-00001-of-00002.safetensors").read_bytes() == SHARD1

    hub.fail_get.clear()
    hub.log.clear()
    second = run(compose, hub.url)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "3 already in the cache; 1 to fetch" in second.stdout
    assert not hub.gets("model-00001-of-00002.safetensors")  # finished files are not fetched again
    assert len(hub.gets("model-00002-of-00002.safetensors")) == 1
    assert weights_present(hf, REPO)

    hub.log.clear()
    third = run(compose, hub.url)
    assert third.returncode == 0 and "0 to fetch" in third.stdout
    assert not [entry for entry in hub.log if entry[0] == "GET" and "/resolve/" in entry[1]]


def test_dry_run_says_what_would_be_fetched_and_fetches_nothing(hub, compose):
    done = run(compose, hub.url, "--dry-run", token=None)
    assert done.returncode == 0, done.stderr
    assert "4 to fetch" in done.stdout and "HF_TOKEN not set" in done.stdout
    assert not [entry for entry in hub.log if entry[0] == "GET" and "/resolve/" in entry[1]]
    assert {entry[3] for entry in hub.log} == {None}
    assert not weights_present(compose.parent.parent / "hf", REPO)


def test_not_enough_disk_refuses_before_fetching(hub, compose, monkeypatch):
    class Usage:
        free = 1000

    monkeypatch.setattr(download.shutil, "disk_usage", lambda path: Usage)
    lines = []
    with pytest.raises(download.DownloadFailed, match="not enough disk at .*--hf-cache on a larger disk"):
        download.fetch(REPO, str(compose.parent.parent / "hf"), endpoint=hub.url, token=None, max_workers=2,
                       dry_run=False, echo=lines.append)
    assert "4 to fetch" in lines[0]
    assert not [entry for entry in hub.log if entry[0] == "GET" and "/resolve/" in entry[1]]


def test_an_unknown_repo_fails_with_the_fix(hub, compose):
    hub.repo = "zai-org/other"
    done = run(compose, hub.url)
    assert done.returncode == 1
    assert "repository not found or not accessible" in done.stderr and TOKEN not in done.stderr


def test_an_unreachable_hub_fails_quickly_with_one_line(compose):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once closed
    done = run(compose, f"http://127.0.0.1:{port}")
    assert done.returncode == 1
    assert done.stderr.startswith("FAILED: ConnectError") and len(done.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2(tmp_path, hub, compose):
    rehearsal = tmp_path / "rehearsal.yaml"
    rehearsal.write_text(render_compose(MATRIX["rehearsal"], tmp_path))
    for args, env, message in [
        ([], {"HF_HUB_OFFLINE": "1"}, "Error: HF_HUB_OFFLINE is set"),
        (["--compose-file", str(rehearsal)], {}, "Error: "),
        (["--compose-file", str(tmp_path / "none.yaml")], {}, "Error: --compose-file"),
        (["--max-workers", "0"], {}, "Error: "),
    ]:
        done = run(compose, hub.url, *args, **env)
        assert done.returncode == 2 and done.stderr.startswith(message), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert not hub.log


def test_weights_present_needs_the_same_layout_as_the_engine(tmp_path):
    """The cache folder the engine mounts: <hf_cache>/hub/models--org--name (HF_HOME layout)."""
    assert hfcache.repo_folder("/data/x", REPO) == Path("/data/x/hub/models--zai-org--GLM-5-FP8")
    assert not weights_present(tmp_path, REPO)


# --- the token is never printed, in any form ---------------------------------------------------

@pytest.mark.parametrize("token, kind", [
    ("hf_s3cret\nX", "a line break or control character (character 10 of 11)"),
    ("hf_s3cret\r\nX-Evil: 1", "a line break or control character (character 10 of 20)"),
    ("hf_s3cret\r", "a line break or control character (character 10 of 10)"),
    ("hf_s3cret\t", "a line break or control character (character 10 of 10)"),
    ("hf_s3cret x", "a space (character 10 of 11)"),
    ("hf_s3crét", "a non-ASCII character (character 8 of 9)"),
    ("hf_s3cret\x7f", "a line break or control character (character 10 of 10)"),
])
def test_a_token_no_header_can_carry_is_refused_without_showing_it(hub, compose, token, kind):
    done = run(compose, hub.url, token=token)
    assert done.returncode == 2
    assert done.stderr == (f"Error: HF_TOKEN (not shown) contains {kind}: no HTTP header can carry it. "
                           "Fix: export HF_TOKEN again with the token alone, e.g. hf_...\n")
    assert "s3cr" not in done.stdout + done.stderr
    assert not hub.log  # nothing was sent


HOSTILE_TOKEN = "hf_a+b/c'd\\e=f%g"


def test_a_token_an_answer_quotes_is_masked_in_every_form(hub, compose):
    """A hub that redirects to a URL carrying the token, URL-encoded, then fails: the error names
    that URL. Raw, repr-escaped and URL-encoded forms are all masked."""
    from urllib.parse import quote

    hub.routes[f"/api/models/{REPO}/revision/main"] = lambda request: Response(
        "", status=302, headers={"Location": f"/echo?t={quote(HOSTILE_TOKEN, safe='')}&r={HOSTILE_TOKEN!r}"})
    hub.routes["/echo"] = lambda request: Response("down", status=500)
    done = run(compose, hub.url, token=HOSTILE_TOKEN)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("FAILED: ") and "/echo?t=***" in done.stderr, done.stderr
    for form in (HOSTILE_TOKEN, quote(HOSTILE_TOKEN, safe=""), repr(HOSTILE_TOKEN)[1:-1], "a+b/c", "a%2Bb"):
        assert form not in done.stdout + done.stderr


@pytest.mark.parametrize("text", [
    f"raw {HOSTILE_TOKEN} end", f"repr {HOSTILE_TOKEN!r}", f"bytes {HOSTILE_TOKEN.encode()!r}",
    f"url {__import__('urllib.parse').parse.quote(HOSTILE_TOKEN, safe='')}",
    f"plus {__import__('urllib.parse').parse.quote_plus(HOSTILE_TOKEN)}",
    f"json {__import__('json').dumps(HOSTILE_TOKEN)}",
])
def test_redact_masks_every_form(text):
    masked = download.redact(text, HOSTILE_TOKEN)
    assert "a+b" not in masked and "a%2Bb" not in masked and "***" in masked
