"""Preflight on each of two hosts, against recorded `ip -j` outputs (tests/fixtures/ip/): the
head's address, the interface between the hosts, InfiniBand, the image, the head's ports."""

import errno
import json
from pathlib import Path

import pytest

from recipe.profile import build
from stack import preflight
from stack.preflight import Context, run_checks
from stack.probes import Unavailable
from stack.rendered import Rendered

from test_preflight import RENDERED, FakeHost

IP = Path(__file__).parent / "fixtures" / "ip"
HEAD, WORKER = "head", "worker"


def recorded(name):
    return json.loads((IP / name).read_text())


class NodeHost(FakeHost):
    """One of the two namespaces as recorded, plus /dev/infiniband and the local image."""

    def __init__(self, which, infiniband=None, image=("sha256:" + "ab" * 32, ["vllm/vllm-openai@sha256:" + "cd" * 32]),
                 busy=(), **kw):
        super().__init__(**kw)
        self.which_host, self.infiniband, self.image, self.busy = which, infiniband, image, set(busy)

    def ip_addr(self):
        return recorded(f"{self.which_host}-addr.json")

    def route_get(self, address):
        if address == "10.213.7.1":
            return recorded("head-route-self.json" if self.which_host == HEAD else "worker-route-head.json")
        raise Unavailable((IP / "worker-route-unreachable.err").read_text().strip())

    def listdir(self, path):
        assert path == "/dev/infiniband"
        return self.infiniband

    def image_digests(self, image):
        if self.image is None:
            raise Unavailable(f"{image} is not on this host yet")
        return self.image

    def try_bind(self, address, port):
        if port in self.busy:
            raise OSError(errno.EADDRINUSE, "in use")
        if address != "10.213.7.1" and port != 8000:
            raise OSError(errno.EADDRNOTAVAIL, "not here")


def check(rank, host, **options):
    options = {"nodes": 2, "head_address": "10.213.7.1", "iface": "gn-", "gpu_type": "h100", **options}
    rendered = Rendered(Path("c.yaml"), build(**options), {"engine": RENDERED}, rank=rank)
    return {r.name: r for r in run_checks(Context(rendered, host))}


def verdicts(results, *names):
    return {n: results[n].status for n in names}


NAMES = ("head-address", "iface", "infiniband", "image", "head-ports")


def test_each_host_with_its_own_file_passes():
    head = check(0, NodeHost(HEAD))
    assert verdicts(head, *NAMES) == {"head-address": "PASS", "iface": "PASS", "infiniband": "SKIP",
                                      "image": "PASS", "head-ports": "PASS"}
    assert head["head-address"].measured == "10.213.7.1 on gn-a"
    assert head["head-ports"].measured == "TCP 29501 free on 10.213.7.1"
    worker = check(1, NodeHost(WORKER))
    assert verdicts(worker, *NAMES) == {"head-address": "PASS", "iface": "PASS", "infiniband": "SKIP",
                                        "image": "PASS", "head-ports": "SKIP"}
    assert worker["iface"].measured == "the route to 10.213.7.1 goes via gn-b"
    assert worker["port"].status == "SKIP"  # a worker serves no API


def test_sglangs_head_accepts_its_dist_init_port():
    assert check(0, NodeHost(HEAD), engine="sglang")["head-ports"].measured == "TCP 20000 free on 10.213.7.1"


def test_files_swapped_between_the_hosts_fail():
    on_worker = check(0, NodeHost(WORKER))["head-address"]
    assert on_worker.status == "FAIL" and on_worker.measured == "10.213.7.1 is not an address of this host"
    on_head = check(1, NodeHost(HEAD))["head-address"]
    assert on_head.status == "FAIL" and "this is the head" in on_head.measured


def test_a_worker_without_a_route_to_the_head_fails():
    r = check(1, NodeHost(WORKER), head_address="10.0.0.1")["head-address"]
    assert r.status == "FAIL"
    assert r.measured == "no route to 10.0.0.1: RTNETLINK answers: Network is unreachable"


@pytest.mark.parametrize("rank,which,iface,measured", [
    (0, HEAD, "eth9", "no interface eth9 (this host has gn-a, lo)"),
    (1, WORKER, "eth9", "no interface eth9 (this host has gn-b, lo)"),
    (0, HEAD, "lo", "10.213.7.1 is not on lo"),
    (1, WORKER, "lo", "the route to 10.213.7.1 goes via gn-b, not lo"),
])
def test_the_wrong_interface_fails(rank, which, iface, measured):
    r = check(rank, NodeHost(which), iface=iface)["iface"]
    assert (r.status, r.measured) == ("FAIL", measured)
    assert r.fix


def test_no_iface_is_a_warning():
    r = check(1, NodeHost(WORKER), iface=None)["iface"]
    assert r.status == "WARN" and "--iface" in r.fix


@pytest.mark.parametrize("ib,entries,status", [
    (True, ["rdma_cm", "uverbs0", "uverbs1"], "PASS"),
    (True, None, "FAIL"),
    (True, ["rdma_cm"], "FAIL"),
    (False, ["uverbs0"], "WARN"),
    (False, None, "SKIP"),
])
def test_infiniband(ib, entries, status):
    assert check(0, NodeHost(HEAD, infiniband=entries), ib=ib)["infiniband"].status == status


def test_the_image_says_how_to_compare_the_hosts():
    r = check(1, NodeHost(WORKER))["image"]
    assert r.status == "PASS" and r.measured.startswith("sha256:abababababab")
    assert "docker image inspect --format '{{.Id}} {{.RepoDigests}}' vllm/vllm-openai:glm5" in r.need
    missing = check(1, NodeHost(WORKER, image=None))["image"]
    assert missing.status == "WARN" and "docker pull vllm/vllm-openai:glm5" in missing.fix


def test_a_taken_head_port_fails():
    r = check(0, NodeHost(HEAD, busy={29501}))["head-ports"]
    assert r.status == "FAIL" and r.measured == "29501 in use on 10.213.7.1"


def test_one_host_renders_skip_every_two_host_check():
    rendered = Rendered(Path("c.yaml"), build(), {"engine": RENDERED})
    got = {r.name: r.status for r in run_checks(Context(rendered, NodeHost(HEAD)))}
    assert all(got[n] == "SKIP" for n in NAMES)
