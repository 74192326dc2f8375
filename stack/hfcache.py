"""The Hugging Face cache on the host: where a repo lives, whether its weights are complete.

The layout is HF_HOME's: repos under <hf_cache>/hub, which the engine container sees under
recipe.catalog.HF_MOUNT. Preflight, download and up all read it through these functions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

HUB = "hub"  # HF_HOME layout: the cache of repos lives in <HF_HOME>/hub


def hub_dir(hf_cache: str | os.PathLike) -> Path:
    """<hf_cache>/hub: where huggingface_hub keeps model repos under an HF_HOME. A profile's
    hf_cache is absolute (the generator expanded `~` once, when rendering): no second expansion."""
    return Path(hf_cache) / HUB


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
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def disk_target(hf_cache: str | os.PathLike) -> Path:
    """Where the weights land, for a free-disk measure: <hf_cache>/hub (or its nearest existing
    parent) with links resolved, since hub/ may be a link to another disk. Preflight and download
    both measure here, so they cannot disagree about the space."""
    return nearest_existing(hub_dir(hf_cache)).resolve()


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
