"""Writing the fidelity outputs safely: whole or not at all, and never over what is not ours.

- Files and folders are written beside their target first and moved into place
  (:func:`atomic_write_text`, :func:`staging` + :func:`commit`), so an error leaves the
  earlier output as it was.
- :func:`check_output_file` refuses, before any work, a target that is not a regular file:
  a folder, a symbolic link, a device node, a FIFO or a socket (``--out /dev/null`` run as
  root would otherwise have *replaced* the device node with a file); an existing regular
  file only with ``overwrite`` and only if ``is_ours`` says it is an earlier output.
"""

from __future__ import annotations

import math
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["OutputError", "chmod_default", "atomic_write_text", "check_parent", "check_output_file",
           "staging", "commit", "json_safe"]


class OutputError(ValueError):
    """An output path the command must not write to; the message names the flag and why."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def chmod_default(path: Path, *, dir: bool = False) -> None:  # noqa: A002
    """Give a ``mkdtemp``/``mkstemp`` path the permissions a plain create would have."""
    os.chmod(path, (0o777 if dir else 0o666) & ~_umask())


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def check_parent(path: Path, flag: str) -> None:
    """Refuse an output path below a file (it could only fail after all the work)."""
    above = path.absolute().parent
    while not above.exists():
        above = above.parent
    if not above.is_dir():
        raise OutputError(f"{flag} {path}: {above} is a file, not a folder")


def check_output_file(path: Path, flag: str, overwrite: bool,
                      is_ours: Callable[[Path], bool] | None = None, what: str = "file") -> None:
    """Refuse an output file path that is not new, or not an earlier output of ours.

    ``path`` may not exist yet; if it exists it must be a regular file (``lstat``: a symbolic
    link is refused whatever it points to), ``overwrite`` must be given, and ``is_ours(path)``
    (when given) must say it is an earlier ``what``. Raises :class:`OutputError`.
    """
    check_parent(path, flag)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{flag} {path}: is {_kind(st.st_mode)}, not a {what}; give the path of a new "
                          f"{what}" + (" or of an earlier one" if is_ours else ""))
    if not overwrite:
        raise OutputError(f"{flag} {path}: exists; add --overwrite to replace it")
    if is_ours is not None and not is_ours(path):
        raise OutputError(f"{flag} {path}: is not an earlier {what} (--overwrite replaces only those); "
                          "give another path")


def atomic_write_text(path: Path, text: str, *, validate: Callable[[Path], object] | None = None,
                      recheck: Callable[[Path], None] | None = None) -> Path:
    """Write ``text`` beside ``path``, ``validate`` the temporary file, then move it in place.

    ``recheck(path)`` runs just before the move (the target may have changed since the
    command checked it). On any error the temporary file is removed and ``path`` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if validate is not None:
            validate(Path(tmp))
        chmod_default(Path(tmp))
        if recheck is not None:
            recheck(path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def staging(path: Path) -> Path:
    """A new empty folder beside ``path`` to write into before :func:`commit`."""
    parent = path.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name}.tmp-"))


def commit(staged: Path, path: Path) -> None:
    """Put a complete staged folder in place of ``path`` (a new path or an earlier output folder)."""
    chmod_default(staged, dir=True)
    old = None
    if os.path.lexists(path):
        if path.is_symlink() or not path.is_dir():
            raise OutputError(f"{path}: is not a folder; nothing was replaced")
        old = Path(tempfile.mkdtemp(dir=staged.parent, prefix=f".{path.name}.old-"))
        os.replace(path, old / path.name)
    try:
        os.replace(staged, path)
    except OSError:
        if old is not None:  # the earlier output goes back where it was
            os.replace(old / path.name, path)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def json_safe(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, numpy scalars plain Python."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj
