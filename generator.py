#!/usr/bin/env python3
"""Render a Docker Compose deployment of GLM-5 on vLLM or SGLang. Logic lives in recipe/."""

import sys
from pathlib import Path

try:
    import click
    import jinja2  # noqa: F401  (checked here so a bare interpreter gets the fix, not a traceback)
except ImportError as exc:
    sys.exit(f"Error: {exc.name} is not installed. Fix: run `make venv`, then "
             f"`.venv/bin/python generator.py ...` (or use `make generate`)")

from recipe import profile, render, store
from recipe.engines import ENGINES
from recipe.errors import RecipeError, StoreError
from recipe.hardware import GPUS, MODELS

LAST_RENDER = render.ROOT / ".last-render"


def gpu_ids_option(ctx, param, value):
    if value is None:
        return None
    try:
        return tuple(int(i) for i in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give comma-separated device numbers, e.g. 0,1,2,3") from None


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--engine", type=click.Choice(list(ENGINES)), default="vllm", show_default=True,
              help="Serving engine.")
@click.option("--model", help="Hugging Face repo id. Known: "
              + ", ".join(m for m in MODELS if not MODELS[m].rehearsal) + ".  [default: zai-org/GLM-5-FP8]")
@click.option("--gpu-type", type=click.Choice(list(GPUS)), help="GPU model, for sizing.  [default: h200]")
@click.option("--gpus", type=int, help="GPUs on the host to use.  [default: 8]")
@click.option("--tp", type=int, help="Tensor-parallel size; must divide the model's attention heads."
              "  [default: --gpus]")
@click.option("--gpu-ids", callback=gpu_ids_option,
              help="Reserve these GPUs (e.g. 0,1,2,3) instead of any --tp of them.")
@click.option("--speculative", type=click.Choice(["auto", "mtp", "eagle", "off"]), default="auto",
              show_default=True, help="auto = the engine's recipe: MTP on vLLM, EAGLE on SGLang.")
@click.option("--spec-tokens", type=int,
              help="Speculative tokens (vLLM MTP; default 1) or steps (SGLang EAGLE; default 3).")
@click.option("--mem-fraction", type=float, help="Share of each GPU's memory the engine may use."
              "  [default: 0.85]")
@click.option("--max-model-len", type=int, help="Context length cap.  [default: the model's, 202752]")
@click.option("--served-model-name", help="Model name clients send.  [default: e.g. glm-5-fp8]")
@click.option("--port", type=int, help="Host port to publish.  [default: 8000 vLLM, 30000 SGLang]")
@click.option("--bind", default="127.0.0.1", show_default=True,
              help="Host address to publish on; 0.0.0.0 exposes the API to your network.")
@click.option("--hf-cache", default="~/.cache/huggingface", show_default=True,
              help="Host folder of the Hugging Face cache (weights), mounted into the engine.")
@click.option("--offline", is_flag=True, help="Set HF_HUB_OFFLINE=1: weights are already in --hf-cache.")
@click.option("--image", help="Engine image, tag or digest.  [default: vllm/vllm-openai:glm5, "
              "lmsysorg/sglang:glm5-hopper]")
@click.option("--tool-call-parser", type=click.Choice(profile.TOOL_PARSERS), default="glm47",
              show_default=True, help="Keep glm47. glm45 (GLM-4.5 format) and hermes only rehearse a wrong flag.")
@click.option("--reasoning-parser", type=click.Choice(profile.REASONING_PARSERS), default="glm45",
              show_default=True, help="none leaves <think> text in the content.")
@click.option("--start-period", type=int, help="Minutes the healthcheck waits for the first load."
              "  [default: 60]")
@click.option("--rehearsal", is_flag=True, help="The same stack on a CPU with a tiny GLM-format "
              "model and no GPUs (vLLM only): see make rehearse.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write.  [default: compose/ENGINE.yaml]")
@click.option("--stdout", is_flag=True, help="Print the render; write no file.")
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
        prof = profile.build(**options)
        if stdout:
            click.echo(render.render_compose(prof, Path.cwd()), nl=False)
            return
        default_name = "rehearsal" if prof.rehearsal else prof.engine
        path = output or render.ROOT / "compose" / f"{default_name}.yaml"
        text = render.render_compose(prof, path.resolve().parent)
        status = store.write(path, text, force=force)
    except (RecipeError, StoreError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    if not prof.rehearsal:  # make up/down/smoke follow real deployments; make rehearse names its file
        store.write(LAST_RENDER, f"{path.resolve()}\n", force=True)
    click.echo(f"{status}: {path}", err=True)
    if prof.bind not in ("127.0.0.1", "::1"):
        click.echo(f"note: the API is published on {prof.bind}: anyone who can reach this host can use it.",
                   err=True)
    for note in notes(prof):
        click.echo(f"note: {note}", err=True)


def notes(prof) -> list[str]:
    out = []
    if prof.tool_call_parser != "glm47":
        out.append(f"--tool-call-parser {prof.tool_call_parser} does not parse GLM-4.7/5 tool calls; "
                   "use glm47 outside a rehearsal of that mistake.")
    if prof.reasoning_parser == "none":
        out.append("without --reasoning-parser, thinking text stays in the content.")
    if not prof.rehearsal and prof.tp < prof.gpus:
        out.append(f"using {prof.tp} of {prof.gpus} GPUs.")
    return out


if __name__ == "__main__":
    main()
