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
import sys
from pathlib import Path

import click

from recipe.errors import RecipeError

HUB = "hub"  # HF_HOME layout: the cache of repos lives in <HF_HOME>/hub
ETAG_TIMEOUT = 30  # seconds for each file's metadata request
DOWNLOAD_TIMEOUT = "60"  # seconds without data before a transfer counts as stalled (then resumed)


def hub_dir(hf_cache: str | os.PathLike) -> Path:
    """<hf_cache>/hub: where huggingface_hub keeps model repos under an HF_HOME."""
    return Path(hf_cache).expanduser() / HUB


def repo_folder(hf_cache: str | os.PathLike, repo: str) -> Path:
    """<hf_cache>/hub/models--org--name: where huggingface_hub keeps one model repo."""
    return hub_dir(hf_cache) / ("models--" + repo.replace("/", "--"))


def _snapshot(folder: Path) -> tuple[str, Path] | None:
    ref = folder / "refs" / "main"
    if ref.is_file():
        commit = ref.read_text().strip()
        if (folder / "snapshots" / commit).is_dir():
            return commit, folder / "snapshots" / commit
    snapshots = sorted((folder / "snapshots").glob("*/"), key=lambda p: p.stat().st_mtime) if (
        folder / "snapshots").is_dir() else []
    return (snapshots[-1].name, snapshots[-1]) if snapshots else None


def _listed_files(folder: Path, commit: str) -> list[str] | None:
    """Every file of the commit, from the tree listing snapshot_download caches (hub >= 2.x)."""
    try:
        data = json.loads((folder / "trees" / f"{commit}.json").read_text())
        return list(data["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def weights_present(hf_cache: str | os.PathLike, repo: str) -> bool:
    """True when the cache holds a complete snapshot of the repo's weights.

    Complete means: every file of the tree listing that a finished snapshot_download leaves
    behind, or, for a cache filled by another tool, the config and every safetensors shard the
    index names (or the single model.safetensors). A symlink whose blob is missing or still
    downloading does not count.
    """
    folder = repo_folder(hf_cache, repo)
    found = _snapshot(folder)
    if found is None:
        return False
    commit, snapshot = found
    listed = _listed_files(folder, commit)
    if listed is not None:
        return bool(listed) and all((snapshot / name).is_file() for name in listed)
    if not (snapshot / "config.json").is_file():
        return False
    index = snapshot / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = set(json.loads(index.read_text())["weight_map"].values())
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False
        return bool(shards) and all((snapshot / shard).is_file() for shard in shards)
    return (snapshot / "model.safetensors").is_file()


def cached_bytes(hf_cache: str | os.PathLike, repo: str) -> int:
    """Bytes of the repo's finished blobs already in the cache (partial downloads excluded)."""
    blobs = repo_folder(hf_cache, repo) / "blobs"
    if not blobs.is_dir():
        return 0
    return sum(b.stat().st_size for b in blobs.iterdir() if b.is_file() and not b.name.endswith(".incomplete"))


def nearest_existing(path: Path) -> Path:
    """The path itself or its closest existing parent: where a folder to be created will live."""
    path = path.expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def offline_command(compose_file: Path, profile) -> str:
    """The generator command that re-renders this profile with HF_HUB_OFFLINE=1."""
    import shlex

    from recipe.render import ROOT, cli_args

    args = cli_args(profile.replace(offline=True))
    if compose_file.resolve() != (ROOT / "compose" / f"{profile.engine}.yaml").resolve():
        args += ["--output", str(compose_file)]
    return shlex.join(["python", "generator.py", *args])


class DownloadFailed(Exception):
    """The weights could not be fetched; str() says why and what to do."""


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
        where = nearest_existing(cache_dir)
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
        first = (str(cause).strip().splitlines() or [""])[0].rstrip(".") or type(cause).__name__
        if token:
            first = first.replace(token, "***")
        raise DownloadFailed(f"{type(cause).__name__}: {first}. Fix: check the network or HF_ENDPOINT, "
                             "then re-run: files already fetched are kept") from None


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--compose-file", "-f", type=click.Path(dir_okay=False, path_type=Path),
              help="Rendered compose file whose profile names the model and the HF cache."
              "  [default: the last generate's (.last-render), else compose/vllm.yaml]")
@click.option("--max-workers", type=click.IntRange(1, 32), default=8, show_default=True,
              help="Files fetched in parallel.")
@click.option("--dry-run", is_flag=True, help="Say what would be fetched and whether it fits; fetch nothing.")
def main(compose_file, max_workers, dry_run):
    """Download the model's weights into the profile's Hugging Face cache, ahead of `up`.

    Resumable: files already in the cache are skipped, so re-run after an interruption.
    Honours HF_ENDPOINT (a mirror) and HF_TOKEN (never printed). When the weights are
    complete, re-render with --offline so that a start can never begin a download.
    """
    from recipe.preflight import default_compose_file, usage_error
    from recipe.profile import from_compose

    compose_file = compose_file or default_compose_file()
    try:
        profile = from_compose(compose_file)
    except RecipeError as exc:
        usage_error(str(exc))
    if profile.rehearsal:
        usage_error(f"{compose_file}: a rehearsal serves the tiny model built locally "
                               "(make tiny-model); there is nothing to download")
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        usage_error("HF_HUB_OFFLINE is set in this shell: huggingface_hub will not download. "
                               "Fix: unset HF_HUB_OFFLINE for this command")
    token = os.environ.get("HF_TOKEN") or None
    endpoint = os.environ.get("HF_ENDPOINT") or None
    click.echo(f"{profile.model} -> {hub_dir(profile.hf_cache)} "
               f"(hub: {endpoint or 'huggingface.co'}; HF_TOKEN {'set' if token else 'not set'})")
    try:
        snapshot = fetch(profile.model, profile.hf_cache, endpoint=endpoint, token=token,
                         max_workers=max_workers, dry_run=dry_run, echo=click.echo)
    except DownloadFailed as exc:
        click.echo(f"FAILED: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("\nInterrupted. Re-run `make download` to resume: finished files are kept.", err=True)
        sys.exit(130)
    if dry_run:
        return
    if not weights_present(profile.hf_cache, profile.model):
        click.echo(f"FAILED: the download ended but {snapshot} is incomplete. Fix: re-run to resume", err=True)
        sys.exit(1)
    click.echo(f"Complete: {snapshot}")
    if profile.offline:
        click.echo(f"{compose_file} already sets HF_HUB_OFFLINE=1: `make up` will use these weights.")
    else:
        click.echo("Re-render with --offline, so a start can never begin a download "
                   "(the engine then runs with HF_HUB_OFFLINE=1):")
        click.echo(f"  {offline_command(compose_file, profile)}")


if __name__ == "__main__":
    from recipe.preflight import run

    run(main, "python -m recipe.download")
