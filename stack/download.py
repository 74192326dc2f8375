"""Fetch the profile's weights into its Hugging Face cache ahead of `up`.

Reads the profile a rendered compose file was made from (its x-profile block) and downloads
that model with huggingface_hub's snapshot_download into <hf_cache>/hub, the layout the engine
container sees under /root/.cache/huggingface. Files already in the cache are skipped, so an
interrupted download continues where it stopped; a dropped connection inside a file is resumed
with a Range request. HF_ENDPOINT and HF_TOKEN are honoured; the token is never printed.

\b
Exit codes:
  0    the weights are complete in the cache
  1    the download failed (hub unreachable, repo not found, not enough disk); re-run to resume
  2    usage: bad option, unreadable compose file, HF_HUB_OFFLINE set
  130  interrupted: re-run to resume
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote

import click

from recipe.errors import HostError, UsageError
from recipe.render import ROOT, cli_args
from stack.cli import compose_file_option, default_compose_file, run
from stack.rendered import load_render
from stack.hfcache import disk_target, human, hub_dir, weights_present

ETAG_TIMEOUT = 30  # seconds for each file's metadata request
DOWNLOAD_TIMEOUT = "60"  # seconds without data before a transfer counts as stalled (then resumed)


def offline_command(compose_file: Path, profile) -> str:
    """The generator command that re-renders this profile with HF_HUB_OFFLINE=1."""
    import shlex

    args = cli_args(profile.replace(offline=True))
    if compose_file.resolve() != (ROOT / "compose" / f"{profile.engine}.yaml").resolve():
        args += ["--output", str(compose_file)]
    return shlex.join(["python", "generator.py", *args])


def token_problem(token: str) -> str | None:
    """Why HF_TOKEN cannot be sent, without showing it: an HTTP header carries printable ASCII only
    (a line break would end the header; httpx refuses non-ASCII with a traceback)."""
    for i, c in enumerate(token, 1):
        if not "!" <= c <= "~":
            kind = "a space" if c == " " else "a non-ASCII character" if ord(c) > 127 else \
                "a line break or control character"
            return f"contains {kind} (character {i} of {len(token)})"
    return None


def redact(text: str, token: str | None) -> str:
    """text with the token masked in every form an error may quote it in: as is, escaped by repr
    (str or bytes) or JSON, URL-encoded whole, or percent-encoded in part (as httpx normalises a
    URL): the text is masked, percent-decoded, then masked again."""
    if not token:
        return text
    plain = {token, repr(token)[1:-1], repr(token.encode())[2:-1], json.dumps(token)[1:-1]}
    encoded = {quote(token, safe=""), quote_plus(token), quote(token)}

    def mask(text: str, forms: set[str]) -> str:
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, "***")
        return text

    return mask(unquote(mask(text, plain | encoded)), plain)


class DownloadFailed(HostError):
    """The weights could not be fetched; str() says why and what to do (exit 1)."""


def fetch(repo: str, hf_cache: str, *, endpoint: str | None, token: str | None, max_workers: int,
          dry_run: bool, echo=print) -> str | None:
    """Download repo into <hf_cache>/hub; returns the snapshot folder (None for a dry run)."""
    # Read by huggingface_hub at import: set before the first import in this process.
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", DOWNLOAD_TIMEOUT)
    import httpx2
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    cache_dir = hub_dir(hf_cache)
    common = dict(repo_id=repo, cache_dir=str(cache_dir), endpoint=endpoint, token=token or None,
                  etag_timeout=ETAG_TIMEOUT)
    try:
        plan = snapshot_download(**common, dry_run=True)
        total = sum(f.file_size or 0 for f in plan)
        todo = [f for f in plan if f.will_download]
        fetch_bytes = sum(f.file_size or 0 for f in todo)
        where = disk_target(hf_cache)
        free = shutil.disk_usage(where).free
        echo(f"{len(plan)} files, {human(total)}; {len(plan) - len(todo)} already in the cache; "
             f"{len(todo)} to fetch ({human(fetch_bytes)}); {human(free)} free at {where}")
        if fetch_bytes > free:
            raise DownloadFailed(
                f"not enough disk at {where}: {human(fetch_bytes)} to fetch, {human(free)} free. "
                "Fix: free space there, or re-render with --hf-cache on a larger disk")
        if dry_run:
            return None
        return snapshot_download(**common, max_workers=max_workers)
    except (LocalEntryNotFoundError, httpx2.HTTPError, HfHubHTTPError, OSError) as exc:
        cause = exc.__cause__ or exc  # a dry run wraps the hub's error
        if isinstance(cause, (RepositoryNotFoundError, GatedRepoError)):
            raise DownloadFailed(f"{repo}: repository not found or not accessible ({type(cause).__name__}). "
                                 "Fix: check the model name; for a gated or private repo set HF_TOKEN") from None
        # Masked before it is cut to one line: a quoted token may span what the cut keeps.
        first = (redact(str(cause), token).strip().splitlines() or [""])[0].rstrip(".") or type(cause).__name__
        raise DownloadFailed(f"{type(cause).__name__}: {first}. Fix: check the network or HF_ENDPOINT, "
                             "then re-run: files already fetched are kept") from None


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@compose_file_option("Rendered compose file whose profile names the model and the HF cache.")
@click.option("--max-workers", type=click.IntRange(1, 32), default=8, show_default=True,
              help="Files fetched in parallel.")
@click.option("--dry-run", is_flag=True, help="Say what would be fetched and whether it fits; fetch nothing.")
def main(compose_file, max_workers, dry_run):
    """Download the model's weights into the profile's Hugging Face cache, ahead of `up`.

    Resumable: files already in the cache are skipped, so re-run after an interruption.
    Honours HF_ENDPOINT (a mirror) and HF_TOKEN (never printed). When the weights are
    complete, re-render with --offline so that a start can never begin a download.
    """
    compose_file = compose_file or default_compose_file()
    profile = load_render(compose_file).profile
    if profile.rehearsal:
        raise UsageError(f"{compose_file}: a rehearsal serves the tiny model built locally "
                         "(make tiny-model); there is nothing to download")
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise UsageError("HF_HUB_OFFLINE is set in this shell: huggingface_hub will not download. "
                         "Fix: unset HF_HUB_OFFLINE for this command")
    token = os.environ.get("HF_TOKEN") or None
    if token and token_problem(token):
        raise UsageError(f"HF_TOKEN (not shown) {token_problem(token)}: no HTTP header can carry it. "
                         "Fix: export HF_TOKEN again with the token alone, e.g. hf_...")
    endpoint = os.environ.get("HF_ENDPOINT") or None
    click.echo(f"{profile.model} -> {hub_dir(profile.hf_cache)} "
               f"(hub: {endpoint or 'huggingface.co'}; HF_TOKEN {'set' if token else 'not set'})")
    try:
        snapshot = fetch(profile.model, profile.hf_cache, endpoint=endpoint, token=token,
                         max_workers=max_workers, dry_run=dry_run, echo=click.echo)
    except DownloadFailed as exc:
        click.echo(f"FAILED: {exc}", err=True)
        return exc.code
    except KeyboardInterrupt:
        click.echo("\nInterrupted. Re-run `make download` to resume: finished files are kept.", err=True)
        return 130
    if dry_run:
        return 0
    if not weights_present(profile.hf_cache, profile.model):
        click.echo(f"FAILED: the download ended but {snapshot} is incomplete. Fix: re-run to resume", err=True)
        return 1
    click.echo(f"Complete: {snapshot}")
    if profile.offline:
        click.echo(f"{compose_file} already sets HF_HUB_OFFLINE=1: `make up` will use these weights.")
    else:
        click.echo("Re-render with --offline, so a start can never begin a download "
                   "(the engine then runs with HF_HUB_OFFLINE=1):")
        click.echo(f"  {offline_command(compose_file, profile)}")
    return 0


if __name__ == "__main__":
    run(main, "python -m stack.download")
