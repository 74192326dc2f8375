"""What the host-side commands share: the --compose-file default, and errors -> exit codes.

Library code raises recipe.errors (UsageError -> 2, HostError -> its code); only `run()` here
turns them into one line on stderr and an exit code, as generator.py does for the render.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from recipe.errors import BundleError
from recipe.render import ROOT

LAST_RENDER = ROOT / ".last-render"
EXIT_INTERRUPTED = 130


def default_compose_file() -> Path:
    """The file the last `generate` wrote (.last-render), else the vLLM default."""
    try:
        recorded = LAST_RENDER.read_text().strip()
    except (OSError, UnicodeDecodeError):
        recorded = ""
    return Path(recorded) if recorded else ROOT / "compose" / "vllm.yaml"


def compose_file_option(help_text: str):
    return click.option(
        "--compose-file", "-f", type=click.Path(dir_okay=False, path_type=Path),
        help=f"{help_text}  [default: the last generate's (.last-render), else compose/vllm.yaml]")


def run(command: click.Command, prog_name: str, args=None) -> None:
    """Run a Click command: usage errors and our own errors on one line, mapped to exit codes."""
    try:
        code = command.main(args, prog_name=prog_name, standalone_mode=False)
    except click.ClickException as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        code = 2
    except BundleError as exc:
        click.echo(f"Error: {exc}", err=True)
        code = exc.code
    except (click.Abort, KeyboardInterrupt):
        code = EXIT_INTERRUPTED
    sys.exit(code or 0)
