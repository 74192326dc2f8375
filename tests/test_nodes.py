"""Two hosts (--nodes 2): one file per host, each through the real Compose v2 loader; the
refusals; what the head and the worker each carry."""

import pytest

from recipe.engines import ENGINES
from recipe.goldens import NODES_MATRIX
from recipe.render import ROOT, engine_command
from stack.rendered import load_render

GOLDEN = ROOT / "tests" / "golden"
FILES = [(name, rank) for name, p in NODES_MATRIX.items() for rank in range(p.nodes)]
IDS = [f"{name}-node{rank}" for name, rank in FILES]


@pytest.fixture(scope="module")
def loaded(compose_model):
    return {(name, rank): compose_model(GOLDEN / f"{name}-node{rank}.yaml", "smoke,bench,monitoring")
            for name, rank in FILES}


def test_the_issue_command_renders_a_head_and_a_worker_for_each_engine(run, tmp_path):
    for engine in ENGINES:
        result = run("--engine", engine, "--nodes", "2", "--gpu-type", "h100", "--head-address", "10.0.0.1")
        assert result.exit_code == 0, result.output
        for rank, role in ((0, "head"), (1, "worker")):
            path = tmp_path / f"{engine}-node{rank}.yaml"
            rendered = load_render(path)
            assert rendered.rank == rank and rendered.profile.nodes == 2
            assert f"Host {rank} of 2 ({role}, node rank {rank})" in path.read_text().splitlines()[1]
    assert (tmp_path / ".last-render").read_text().strip().endswith("sglang-node0.yaml")


@pytest.mark.parametrize("name,rank", FILES, ids=IDS)
def test_compose_accepts_every_node_golden(name, rank, compose_config):
    result = compose_config(GOLDEN / f"{name}-node{rank}.yaml", "-q")
    assert result.returncode == 0 and result.stderr == "", result.stderr


@pytest.mark.parametrize("name,rank", FILES, ids=IDS)
def test_head_serves_the_worker_joins(name, rank, loaded):
    p, cfg = NODES_MATRIX[name], loaded[name, rank]
    spec, engine = ENGINES[p.engine], cfg["services"]["engine"]
    cmd = engine["command"]
    assert cmd == engine_command(p, rank)

    def value(flag):
        return cmd[cmd.index(flag) + 1]

    assert value(spec.tp_flag) == str(p.tp)
    assert value("--nnodes") == "2" and value("--node-rank") == str(rank)
    if p.engine == "vllm":
        assert value("--master-addr") == p.head_address and value("--pipeline-parallel-size") == str(p.pp)
        assert value("--distributed-executor-backend") == "mp"
        assert ("--headless" in cmd) == (rank > 0)
        # MTP with PP only where the image's vLLM takes it (0.30 on); auto is off with PP.
        assert ("--speculative-config.method" in cmd) == (p.speculative == "mtp")
    else:
        assert value("--dist-init-addr") == f"{p.head_address}:20000" and value(spec.tp_flag) == "16"
        assert value("--speculative-algorithm") == "EAGLE"
    gpu = p.target.gpu
    if gpu:
        assert engine["network_mode"] == "host" and "ports" not in engine
        assert value("--host") == p.bind and value("--port") == str(p.port)
        devices = engine["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["count"] == 8
    else:  # the rehearsal: two containers on a Docker network of their own
        assert list(engine["networks"]) == ["glm5-nodes-rehearsal"]
        assert ("ports" in engine) == (rank == 0)
    if rank == 0:
        assert "healthcheck" in engine and "smoke" in cfg["services"]
        url = cfg["services"]["smoke"]["environment"]["SMOKE_BASE_URL"]
        assert url == (f"http://127.0.0.1:{p.port}" if gpu else f"http://{p.head_address}:{spec.port}")
        # make bench on the head: where the sidecar reaches the engine; monitoring is one-host.
        bench = cfg["services"]["bench"]
        assert bench["environment"]["BENCH_BASE_URL"] == url and bench["profiles"] == ["bench"]
        assert (bench.get("network_mode"), list(bench.get("networks", ()))) == \
            (("host", []) if gpu else (None, ["glm5-nodes-rehearsal"]))
        assert not {"prometheus", "grafana"} & set(cfg["services"])
    else:
        assert "healthcheck" not in engine and list(cfg["services"]) == ["engine"]
    if p.ib:
        assert engine["devices"][0]["source"] == "/dev/infiniband" and engine["cap_add"] == ["IPC_LOCK"]
    else:
        assert "devices" not in engine and "cap_add" not in engine
    env = engine["environment"]
    assert (env.get("NCCL_SOCKET_IFNAME"), env.get("GLOO_SOCKET_IFNAME")) == (p.iface, p.iface)
    # vLLM's head binds the step broadcast where the worker connects: the head address, not the
    # address of its default route. The worker binds none; SGLang joins through --dist-init-addr.
    assert env.get("VLLM_HOST_IP") == (p.head_address if p.engine == "vllm" and rank == 0 else None)


@pytest.mark.parametrize("name,rank", FILES, ids=IDS)
def test_node_profile_round_trips(name, rank):
    rendered = load_render(GOLDEN / f"{name}-node{rank}.yaml")
    assert rendered.profile == NODES_MATRIX[name] and rendered.rank == rank


def test_a_file_lying_about_its_rank_is_refused(tmp_path):
    text = (GOLDEN / "vllm-fp8-2x8h100-node1.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace('x-node: {"rank": 1,', 'x-node: {"rank": 2,'))
    with pytest.raises(Exception, match="has no valid x-profile block"):
        load_render(bad)


H = ["--nodes", "2", "--head-address", "10.0.0.1"]
REFUSALS = [
    (["--nodes", "2"],
     "Error: --nodes 2: two hosts need the head's address. Fix: add --head-address IP: the head host's "
     "private IPv4 address, which the worker reaches"),
    (["--nodes", "2", "--head-address", "127.0.0.1"],
     "Error: --head-address 127.0.0.1: the worker cannot reach the head there. Fix: give the head host's "
     "address on the network between the hosts, e.g. 10.0.0.1"),
    (["--nodes", "2", "--head-address", "head.example"],
     "Error: --head-address head.example: not an IPv4 address. Fix: give the head host's private IPv4 "
     "address, e.g. 10.0.0.1"),
    (["--nodes", "2", "--head-address", "10.0.0.1 "],
     "Error: --head-address 10.0.0.1 : not an IPv4 address. Fix: give the head host's private IPv4 "
     "address, e.g. 10.0.0.1"),
    ([*H, "--iface", "eth0;reboot"],
     "Error: --iface eth0;reboot: not a network interface name. Fix: give the name `ip -br addr` shows "
     "for the private network, e.g. eth1 or ens5"),
    (["--iface", "eth1"],
     "Error: --iface eth1: only two hosts have a head to join or an interface between them. Fix: add "
     "--nodes 2, or leave it out"),
    (["--head-address", "10.0.0.1"],
     "Error: --head-address 10.0.0.1: only two hosts have a head to join or an interface between them. "
     "Fix: add --nodes 2, or leave it out"),
    (["--ib"], "Error: --ib on: InfiniBand is for the traffic between two hosts. Fix: add --nodes 2, or "
     "leave --ib out"),
    (["--pp", "2"], "Error: --pp 2: pipeline stages are rendered only across two hosts. Fix: leave --pp "
     "out, or add --nodes 2"),
    ([*H, "--gpu-type", "h100", "--speculative", "mtp"],
     "Error: --speculative mtp: speculative decoding with pipeline parallel needs vLLM 0.30.0 or newer "
     "(before it, MTP's draft model does not support PP: vllm#52069, #49355) and this image is vLLM "
     ">0.15.1,<0.16.0. Fix: use --speculative off with PP 2, or --tp 16 (TP over both hosts, MTP on), or "
     "an image from vLLM 0.30.0 on (--image vllm-v0.32.0)"),
    ([*H, "--gpu-type", "h100", "--speculative", "mtp", "--image", "vllm/vllm-openai:latest"],
     "Error: --speculative mtp: speculative decoding with pipeline parallel needs vLLM 0.30.0 or newer "
     "(before it, MTP's draft model does not support PP: vllm#52069, #49355) and this image is not in the "
     "catalog. Fix: use --speculative off with PP 2, or --tp 16 (TP over both hosts, MTP on), or an image "
     "from vLLM 0.30.0 on (--image vllm-v0.32.0)"),
    ([*H, "--engine", "sglang", "--tp", "8"],
     "Error: --tp 8: SGLang's two-host recipe spreads tensor parallel over both hosts, with no pipeline "
     "stages (--pp 2). Fix: leave --tp and --pp out (TP 16)"),
    ([*H, "--tp", "8", "--pp", "1"],
     "Error: --tp 8: TP 8 x PP 1 does not use the 16 GPUs of 2 hosts x --gpus 8. Fix: leave --tp and --pp "
     "out (vLLM: TP 8 x PP 2), or make --tp x --pp equal 16"),
    ([*H, "--gpu-type", "h100", "--model", "zai-org/GLM-5"],
     "Error: --gpu-type h100: zai-org/GLM-5 needs ~1786 GB of GPU memory and 16x H100 on 2 hosts has "
     "1280 GB. Fix: use two hosts of 8x H200 (--gpu-type h200), or --model zai-org/GLM-4.7-FP8 (~430 GB)"),
    (["--gpu-type", "h20"],
     "Error: --gpu-type h20: zai-org/GLM-5-FP8 needs ~893 GB of GPU memory and 8x H20 (96 GB) has 768 GB. "
     "Fix: use 8x H200 (--gpu-type h200 --gpus 8), or 8x B200 (--gpu-type b200 --gpus 8), or two hosts of "
     "8x H20 (96 GB) (--nodes 2 --head-address HEAD_IP), or --model zai-org/GLM-4.7-FP8 (~430 GB)"),
    (["--nodes", "3"], "Error: Invalid value for '--nodes': 3 is not in the range 1<=x<=2."),
    ([*H, "--prometheus-port", "9191"],
     "Error: --prometheus-port 9191: two-host renders have no monitoring profile (make monitoring runs beside "
     "a one-host engine). Fix: leave it out with --nodes 2"),
    ([*H, "--grafana-port", "3001"],
     "Error: --grafana-port 3001: two-host renders have no monitoring profile (make monitoring runs beside "
     "a one-host engine). Fix: leave it out with --nodes 2"),
]


@pytest.mark.parametrize("args,message", REFUSALS, ids=[" ".join(a) for a, _ in REFUSALS])
def test_two_host_refusals(args, message, refused):
    refused(args, message)


def test_fits_on_two_hosts():
    """The profiles one host refuses and two hosts serve, per the issue."""
    from recipe.profile import build

    for model, gpu in (("zai-org/GLM-5-FP8", "h100"), ("zai-org/GLM-5-FP8", "h20"), ("zai-org/GLM-5", "h200")):
        p = build(model=model, gpu_type=gpu, nodes=2, head_address="10.0.0.1")
        assert (p.tp, p.pp, p.speculative) == (8, 2, "off")
        p = build(engine="sglang", model=model, gpu_type=gpu, nodes=2, head_address="10.0.0.1")
        assert (p.tp, p.pp, p.speculative) == (16, 1, "eagle")
    p = build(gpu_type="h100", nodes=2, head_address="10.0.0.1", tp=16)
    assert (p.tp, p.pp, p.speculative) == (16, 1, "mtp")
    p = build(gpu_type="h100", nodes=2, head_address="10.0.0.1", image="vllm-v0.32.0")
    assert (p.tp, p.pp, p.speculative) == (8, 2, "off")  # auto stays off with PP: ask for it
    p = build(gpu_type="h100", nodes=2, head_address="10.0.0.1", image="vllm-v0.32.0", speculative="mtp")
    assert (p.pp, p.speculative, p.spec_tokens) == (2, "mtp", 1)


def test_both_files_or_neither(run, tmp_path):
    """A hand edit in the worker's file stops the head's from being rewritten too."""
    args = ("--nodes", "2", "--gpu-type", "h100", "--head-address", "10.0.0.1")
    assert run(*args).exit_code == 0
    head, worker = tmp_path / "vllm-node0.yaml", tmp_path / "vllm-node1.yaml"
    worker.write_text(worker.read_text().replace('"--headless"', '"--headless"  # mine'))
    before = head.read_text()
    result = run(*args, "--head-address", "10.0.0.2")
    assert result.exit_code == 2 and "edited by hand" in result.output
    assert head.read_text() == before


def test_stdout_prints_both_files(run):
    result = run("--nodes", "2", "--gpu-type", "h100", "--head-address", "10.0.0.1", "--stdout")
    head, worker = result.output.split("---\n")
    assert '"--node-rank"\n      - "0"' in head and '"--node-rank"\n      - "1"' in worker
