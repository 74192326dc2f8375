"""Writing renders without losing anything: atomic replace, and no silent overwrite of hand edits."""

import difflib
import os
import tempfile
from pathlib import Path

from .errors import StoreError
from .render import checksum, split_checksum


def write(path: Path, text: str, force: bool = False) -> str:
    """Write text to path; returns "written" or "unchanged". Raises StoreError to protect edits."""
    path = Path(path)
    try:
        return _write(path, text, force)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write it ({exc.strerror or exc}); nothing written. "
                         "Fix: choose a writable --output") from None


def check_writable(path: Path, text: str, force: bool = False) -> None:
    """Raise StoreError if write() would refuse: lets a caller writing several files check all
    of them before writing any."""
    path = Path(path)
    try:
        if path.exists() and not force:
            old = path.read_text()
            if old != text:
                refuse_if_foreign(path, old, text)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read it ({exc.strerror or exc}); nothing written. "
                         "Fix: choose a readable --output") from None


def _write(path: Path, text: str, force: bool) -> str:
    if path.exists():
        old = path.read_text()
        if old == text:
            return "unchanged"
        if not force:
            refuse_if_foreign(path, old, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder, so os.replace is atomic: readers see the old file or the new one, never half.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return "written"


def refuse_if_foreign(path: Path, old: str, new: str) -> None:
    body, recorded = split_checksum(old)
    if recorded is None:
        raise StoreError(
            f"{path}: exists and was not written by generator.py; nothing written. "
            "Fix: pass --force to replace it, or choose another --output"
        )
    if recorded != checksum(body):
        raise StoreError(
            f"{path}: edited by hand since it was generated ({describe(body, split_checksum(new)[0])}); "
            "nothing written. Fix: move the edit into generator options, or pass --force to discard it"
        )


def describe(old: str, new: str) -> str:
    """A one-line summary of how the file differs from the new render: first changed line."""
    diff = [
        line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    removed = [line[1:].strip() for line in diff if line.startswith("-")]
    added = [line[1:].strip() for line in diff if line.startswith("+")]
    first = f"yours has {removed[0]!r}" if removed else f"yours lacks {added[0]!r}"
    return f"{len(removed)} line(s) differ from the new render; first: {first}"
