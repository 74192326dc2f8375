"""Writing renders without losing anything: atomic replace, and no silent overwrite of hand edits.

Only a regular file (or nothing) is ever replaced: a link, a named pipe, a device, a socket or a
folder at the path is refused, --force or not (opening a pipe would wait forever for a writer,
and replacing a link or a device node would put a file where something else was). An existing
file is read with a size bound, without following links and without waiting. Every failure is
a StoreError: one line with the path, what happened and the fix.
"""

import difflib
import errno
import os
import stat
import tempfile
from pathlib import Path

from .errors import StoreError
from .render import checksum, split_checksum

# A render is a few KB; anything bigger than this at the path is not one of ours.
READ_LIMIT = 1 << 20

_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))

_FIXES = {
    errno.EACCES: "choose a folder you can write to, or fix its permissions",
    errno.EPERM: "choose a folder you can write to, or fix its permissions",
    errno.EROFS: "it is on a read-only filesystem: choose another path",
    errno.ENOTDIR: "a parent of it is a file, not a folder: choose another path",
    errno.ENOSPC: "the disk is full: free space there, or choose another path",
    errno.EDQUOT: "the disk quota is used up: free space there, or choose another path",
    errno.EISDIR: "it is a folder: give a file name",
}


def write(path: Path, text: str, force: bool = False) -> str:
    """Write text to path; returns "written" or "unchanged". Raises StoreError to protect edits."""
    path = Path(path)
    try:
        return _write(path, text, force)
    except OSError as exc:
        raise _cannot(path, exc) from None


def check_writable(path: Path, text: str, force: bool = False) -> None:
    """Raise StoreError if write() would refuse: lets a caller writing several files check all
    of them before writing any."""
    path = Path(path)
    try:
        old = read_existing(path)
    except OSError as exc:
        raise _cannot(path, exc) from None
    if old is not None and old != text and not force:
        refuse_if_foreign(path, old, text)


def _cannot(path: Path, exc: OSError) -> StoreError:
    fix = _FIXES.get(exc.errno, "choose another path (--output)")
    return StoreError(f"{path}: cannot write it ({exc.strerror or exc}); nothing written. Fix: {fix}")


def _write(path: Path, text: str, force: bool) -> str:
    old = read_existing(path)
    if old is not None:
        if old == text:
            return "unchanged"
        if not force:
            refuse_if_foreign(path, old, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder, so os.replace is atomic: readers see the old file or the new one, never half.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return "written"


def read_existing(path: Path) -> str | bytes | None:
    """What is at path: None (nothing), its text, or its bytes when it is not UTF-8 text or is
    larger than any render. Refuses anything but a regular file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    refuse_unless_regular(path, st.st_mode)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        refuse_unless_regular(path, os.fstat(f.fileno()).st_mode)  # replaced since the lstat
        data = f.read(READ_LIMIT + 1)
    if len(data) > READ_LIMIT:
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def refuse_unless_regular(path: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise StoreError(f"{path}: is {kind}; nothing written (only a regular file is replaced, even with "
                     "--force). Fix: choose another --output")


def refuse_if_foreign(path: Path, old: str | bytes, new: str) -> None:
    if isinstance(old, bytes):
        why = "larger than any render" if len(old) > READ_LIMIT else "not UTF-8 text"
        raise StoreError(
            f"{path}: exists and is not a render ({why}); nothing written. "
            "Fix: pass --force to replace it, or choose another --output"
        )
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
