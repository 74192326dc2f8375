#!/usr/bin/env python3
"""Render a Docker Compose deployment of GLM-5 on vLLM or SGLang. Logic lives in recipe/."""

import ipaddress
import shlex
import sys
from pathlib import Path

try:
    import click
    import jinja2  # noqa: F401  (checked here so a bare interpreter gets the fix, not a traceback)
except ImportError as exc:
    sys.exit(f"Error: {exc.name} is not installed. Fix: run `make venv`, then "
             f"`.venv/bin/python generator.py ...` (or use `make generate`)")

from recipe import passthrough, profile, releases, render, sizing, store
from recipe.catalog import GPUS, MODELS
from recipe.engines import ENGINES
from recipe.errors import BundleError, RecipeError
from recipe.escape import text_problem
from recipe.profile import DEFAULTS

LAST_RENDER = render.ROOT / ".last-render"
DEFAULT_DIR = render.ROOT / "compose"


def gpu_ids_option(ctx, param, value):
    if value is None:
        return None
    try:
        return tuple(int(i) for i in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give comma-separated device numbers, e.g. 0,1,2,3") from None


def images_option(ctx, param, value):
    if value and not ctx.resilient_parsing:
        click.echo(releases.images_table(), nl=False)
        ctx.exit()


def option(*decls, help: str, **kw):
    """A profile option. Its default is DEFAULTS' (recipe/profile.py): build() fills it in when
    the option is not given (None), and --help shows it from the same table."""
    shown = DEFAULTS[decls[0].lstrip("-").replace("-", "_")].help()
    if shown is not None:
        help = f"{help}  [default: {shown}]"
    return click.option(*decls, default=None, help=help, **kw)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@option("--engine", type=click.Choice(list(ENGINES)), help="Serving engine.")
@option("--model", help="Hugging Face repo id. Known: "
        + ", ".join(m for m in MODELS if not MODELS[m].rehearsal) + ".")
@option("--gpu-type", type=click.Choice(list(GPUS)), help="GPU model, for sizing and its recipe's flags: "
        + ", ".join(f"{g.name} ({g.memory_gb} GB)" for g in GPUS.values()) + " per GPU.")
@option("--gpus", type=int, help="GPUs on each host to use.")
@option("--nodes", type=click.IntRange(1, 2), help="Hosts: 2 renders one file per host "
        "(compose/ENGINE-node0.yaml for the head, -node1 for the worker), through the engine's "
        "own multi-node serving, on host networking.")
@option("--tp", type=int, help="Tensor-parallel size; must divide the model's attention heads.")
@option("--pp", type=int, help="Pipeline stages across the hosts (vLLM only).")
@option("--gpu-ids", callback=gpu_ids_option,
        help="Reserve these GPUs (e.g. 0,1,2,3) instead of any --tp of them.")
@option("--speculative", type=click.Choice(["auto", "mtp", "eagle", "off"]),
        help="Speculative decoding; auto = the engine's recipe.")
@option("--spec-tokens", type=int, help="Speculative tokens (vLLM MTP) or steps (SGLang EAGLE).")
@option("--mem-fraction", type=float, help="Share of each GPU's memory the engine may use.")
@option("--max-model-len", type=int, help="Context length cap.")
@option("--served-model-name", help="Model name clients send.")
@option("--port", type=int, help="Host port to publish.")
@option("--bind", help="Host address to publish on; 0.0.0.0 exposes the API to your network. "
        "With --nodes 2: the address the engine listens on (host networking).")
@option("--prometheus-port", type=int, help="Host port of Prometheus (the monitoring profile: "
        "make monitoring), on 127.0.0.1.")
@option("--grafana-port", type=int, help="Host port of Grafana (the monitoring profile), on 127.0.0.1.")
@option("--head-address", help="With --nodes 2 (required): the head host's private IPv4 address, "
        "which the worker reaches.")
@option("--iface", help="With --nodes 2: the network interface between the hosts (sets "
        "NCCL_SOCKET_IFNAME and GLOO_SOCKET_IFNAME), e.g. eth1.")
@click.option("--ib", is_flag=True, default=None, help="With --nodes 2: give the engine the "
              "InfiniBand devices (/dev/infiniband) and the IPC_LOCK capability RDMA needs.")
@option("--hf-cache", help="Host folder of the Hugging Face cache (weights), mounted into the engine.")
@click.option("--offline", is_flag=True, default=None,
              help="Set HF_HUB_OFFLINE=1: weights are already in --hf-cache.")
@option("--image", help="Engine image: a name from --images, or any reference (tag or digest). A "
        "known image gets its own flags and its known bugs named; another is rendered in the newest "
        "dialect of its engine.")
@option("--tool-call-parser", type=click.Choice(profile.TOOL_PARSERS),
        help="Keep glm47. glm45 (GLM-4.5 format) and hermes only rehearse a wrong flag.")
@option("--reasoning-parser", type=click.Choice(profile.REASONING_PARSERS),
        help="none leaves <think> text in the content.")
@option("--start-period", type=int, help="Minutes the healthcheck waits for the first load.")
@option("--max-num-seqs", type=int,
        help="Most requests the engine runs at once (vLLM --max-num-seqs, SGLang "
        "--max-running-requests). Lower it when the log says the KV cache is too small.")
@option("--kv-cache-dtype", type=click.Choice(profile.KV_CACHE_DTYPES),
        help="KV cache precision. fp8 (vLLM fp8, SGLang fp8_e4m3) holds about 1.6x the tokens of "
        "auto (the engine's choice for the checkpoint). Caveats: the SGLang cookbook warns that "
        "fp8_e4m3 degrades reasoning; the GLM-5.2 recipe says not to use fp8 KV on H20; "
        "vllm#44550: GLM-5-FP8 wrote nonsense on a BF16 KV cache (0.22.1rc1, H200).")
@option("--restart", type=click.Choice(profile.RESTART_POLICIES),
        help="What Docker does when the engine exits. Keep no for the first loads: a crash loop "
        "re-reads ~800 GB of weights each time and scrolls the fatal line out of the log that "
        "make up reads. Once it serves, unless-stopped keeps it up across crashes and reboots.")
@click.option("--engine-args", "engine_args", multiple=True, metavar="'ARGS'",
              help="More engine flags, split like a shell, after the recipe's (repeatable), e.g. "
              "--engine-args '--max-num-batched-tokens 8192'. Each flag name is checked against the "
              "flags of the image's engine version; flags the generator renders are refused with "
              "the option to use.")
@click.option("--env", "env", multiple=True, metavar="KEY=VALUE",
              help="More engine environment (repeatable), e.g. --env NCCL_DEBUG=INFO. KEY alone "
              "passes the variable through from your shell or .env at `up`. Secrets (names with "
              "TOKEN, KEY, SECRET, PASSWORD) only that way: put them in .env next to the compose file.")
@click.option("--gateway", is_flag=True, default=None,
              help="Put nginx in front of the engine: API keys from secrets/api-keys (make keys), only "
              "the serving routes, the only published port. Needed for --bind off loopback.")
@option("--gateway-image", help="The gateway's nginx image, tag or digest.")
@option("--tls-cert", help="With --gateway: serve TLS with this certificate (PEM; make tls-selfsigned "
        "makes a pair).")
@option("--tls-key", help="With --tls-cert: its private key (PEM).")
@option("--rate-limit", type=int, help="With --gateway: requests per minute per API key (then 429).")
@click.option("--allow-unauthenticated", is_flag=True, default=None,
              help="Publish the engine itself on a --bind off loopback: no keys, management routes "
              "open. Only behind something else that guards the port.")
@click.option("--rehearsal", is_flag=True, help="The same stack on a CPU with a tiny GLM-format "
              "model and no GPUs (vLLM only): see make rehearse.")
# A plain string: the checks (one line of text, a regular file or nothing) are ours, on one line.
@click.option("--output", "-o",
              help="File to write.  [default: compose/ENGINE.yaml]")
@click.option("--stdout", is_flag=True, help="Print the render; write no file.")
@click.option("--images", is_flag=True, is_eager=True, expose_value=False, callback=images_option,
              help="List the engine images the generator knows (versions, CUDA, known bugs) and exit.")
@click.option("--force", is_flag=True, help="Overwrite a file edited by hand or not written by us.")
def main(output, stdout, force, **options):
    """Render a Docker Compose file that serves GLM-5 with the recipe's flags.

    Defaults reproduce the GLM-5-FP8 recipe on 8x H200: TP 8, speculative decoding,
    the glm47 tool-call and glm45 reasoning parsers, the Hugging Face cache mounted,
    the port on 127.0.0.1 only, and a healthcheck that waits through a 60-minute load.
    Profiles that cannot work (e.g. GLM-5-FP8 on 8x H100) are refused with the fix.

    \b
    Examples:
      python generator.py --engine sglang
      python generator.py --model zai-org/GLM-4.7-FP8 --gpu-type h100
      python generator.py --stdout | less
    """
    try:
        if output is not None:
            if text_problem(output) or not output:
                raise RecipeError("--output", output, text_problem(output) or "should not be empty",
                                  "give a path on one line, without control characters")
            output = Path(output)
            if output.name in ("", ".", ".."):
                raise RecipeError("--output", output, "names a folder, not a file",
                                  "give a file name, e.g. compose/glm5.yaml")
        prof = profile.build(**options)
        if stdout:
            texts = [render.render_compose(prof, Path.cwd(), rank) for rank in range(prof.nodes)]
            click.echo("---\n".join(texts), nl=False)
            for note in notes(prof):
                click.echo(f"note: {note}", err=True)
            return
        paths = [DEFAULT_DIR / name for name in render.file_names(prof)]
        if output is not None:
            # -o x.yaml with two hosts: x-node0.yaml and x-node1.yaml beside it.
            paths = [output] if prof.nodes == 1 else [
                output.with_name(f"{output.stem}-node{rank}{output.suffix or '.yaml'}") for rank in range(prof.nodes)]
        texts = [render.render_compose(prof, path.resolve().parent, rank) for rank, path in enumerate(paths)]
        for path in paths:  # refuse before writing anything: both files or neither
            store.check_writable(path, texts[paths.index(path)], force=force)
        statuses = [store.write(path, text, force=force) for path, text in zip(paths, texts)]
    except BundleError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.code)
    path = paths[0]
    for rank, (status, written) in enumerate(zip(statuses, paths)):
        role = "" if prof.nodes == 1 else (" (head: start it first)" if rank == 0 else
                                           f" (worker: copy it to the second host)")
        click.echo(f"{status}: {written}{role}", err=True)
    for note in notes(prof):
        click.echo(f"note: {note}", err=True)
    remember(path, prof)


def remember(path: Path, prof) -> None:
    """Record the render for make up/down/smoke (.last-render), but only one written to its
    default place under compose/: a file rendered elsewhere (a test's temporary folder, a
    colleague's copy) must not silently become what `make up` starts. For those, say how."""
    if prof.rehearsal:
        return  # make rehearse names its file
    if path.resolve().parent != DEFAULT_DIR.resolve():
        click.echo(f"note: make up/down/smoke still act on the last render under compose/; for this "
                   f"file use: make up COMPOSE_FILE={shlex.quote(str(path.resolve()))}", err=True)
        return
    try:
        store.write(LAST_RENDER, f"{path.resolve()}\n", force=True)
    except BundleError as exc:
        reason = str(exc).partition("; nothing written")[0]
        click.echo(f"note: the render is written, but not recorded ({reason}): make up/down/smoke act on "
                   f"the previous one. Fix: make up COMPOSE_FILE={shlex.quote(str(path.resolve()))}", err=True)


def exposed(bind: str) -> bool:
    """Published beyond this host: any address but loopback (127.0.0.0/8, ::1, ::ffff:127.x)."""
    address = ipaddress.ip_address(bind)
    mapped = getattr(address, "ipv4_mapped", None)
    return not (mapped or address).is_loopback


def notes(prof) -> list[str]:
    out = []
    if prof.gateway:
        out.append(f"the gateway publishes the API on {prof.bind}:{prof.port}: only requests with a key from "
                   "secrets/api-keys get through (run `make keys` once).")
    elif exposed(prof.bind):
        out.append(f"the engine is published on {prof.bind} without keys: anyone who can reach this host "
                   "there can use it and its management routes.")
    if prof.tool_call_parser != "glm47":
        out.append(f"--tool-call-parser {prof.tool_call_parser} does not parse GLM-4.7/5 tool calls; "
                   "use glm47 outside a rehearsal of that mistake.")
    if prof.reasoning_parser == "none":
        out.append("without --reasoning-parser, thinking text stays in the content.")
    if prof.target.gpu and prof.nodes == 1 and prof.tp < prof.gpus:
        out.append(f"using {prof.tp} of {prof.gpus} GPUs.")
    if prof.nodes > 1:
        out.append("two hosts: copy the node1 file to the worker host; `make up COMPOSE_FILE=<node0 "
                   "file>` on the head first, then the same with the node1 file on the worker. Allow "
                   "all TCP between the hosts' private interfaces (NCCL opens random ports); the "
                   "traffic between them is not encrypted (see README, Two hosts).")
        if prof.target.gpu and prof.speculative == "off" and prof.pp > 1:
            out.append(f"speculative decoding is off with pipeline stages (MTP with PP needs "
                       f"{ENGINES[prof.engine].label} {ENGINES[prof.engine].speculative_with_pp}+ and "
                       f"--speculative mtp); --tp {prof.tp * prof.pp} keeps it on.")
    if prof.target.gpu and (prof.max_num_seqs or prof.kv_cache_dtype != "auto"):
        kv = sizing.kv_note(prof, MODELS[prof.model], GPUS[prof.gpu_type])
        if kv:
            out.append(kv + ".")
    if prof.engine_args:
        out.append(passthrough.flags_for(ENGINES[prof.engine], prof.image)[2] + ".")
    if prof.restart != "no":
        out.append(f"--restart {prof.restart}: a start that keeps failing is retried, each time "
                   "re-reading the weights; `make up` stops following at the first failure.")
    gpu_note = profile.target_recipe_note(prof)
    if gpu_note:
        out.append(gpu_note + ".")
    features = frozenset({"speculative"} if prof.speculative != "off" else ())
    return out + releases.notes(prof.engine, prof.image, features)


if __name__ == "__main__":
    main()
