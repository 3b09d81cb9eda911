"""Safe file I/O at the boundary: what twinforge reads is bounded, what it replaces is its own.

Two promises every command keeps, whatever path a user (or a script) hands it:

- **Reading is bounded.** :func:`open_input` accepts regular files only (never a device,
  a FIFO or a socket such as ``/dev/zero``), caps their size on disk, decompresses
  ``.gz``/``.xz``/``.bz2``/``.zip`` as a stream while it is read, and stops at a cap on
  the inflated size and, for text, on the length of one line (a 45 kB ``.xz`` that
  inflates to 300 MB without a newline is refused after the first MiB, not parsed for
  minutes). :func:`check_input` is the same test without opening the file.
- **Replacing is confined.** :func:`check_output_path` resolves symbolic links and lets a
  command replace only a regular file or a folder of its own; a device node such as
  ``/dev/null`` or anybody else's folder is refused before anything is written.

Every refusal is one :class:`InputError` / :class:`OutputPathError` line naming the path,
what it is and what is allowed.

>>> from pathlib import Path
>>> check_input(Path("/dev/null"), what="--config")
Traceback (most recent call last):
...
twinforge.safe_io.InputError: --config /dev/null: is a character device, not a regular file; allowed: a regular file
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_TRACE_BYTES",
    "MAX_TRACE_INFLATED_BYTES",
    "MAX_TRACE_LINE_BYTES",
    "InputError",
    "OutputPathError",
    "check_input",
    "check_output_path",
    "format_bytes",
    "open_input",
    "open_trace",
    "read_input_bytes",
]

#: Largest scenario / campaign / preset file (TOML) [bytes]: such files hold a few kB.
MAX_CONFIG_BYTES = 1 << 20
#: Largest real trace on disk [bytes] (the UCI household file is 127 MB uncompressed).
MAX_TRACE_BYTES = 4 << 30
#: Largest real trace once decompressed [bytes].
MAX_TRACE_INFLATED_BYTES = 4 << 30
#: Longest line of a text trace [bytes]: a CSV row is well under 1 kB.
MAX_TRACE_LINE_BYTES = 1 << 20

_COMPRESSED = (".gz", ".xz", ".bz2", ".zip")
_CHUNK = 1 << 16


class InputError(ValueError):
    """An input file that twinforge will not read; the message is one line."""


class OutputPathError(ValueError):
    """An output path that twinforge will not write or replace; the message is one line."""


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units: ``'1.0 MiB'``, ``'4.0 GiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def _label(path: Path, what: str) -> str:
    return f"{what} {path}" if what else str(path)


def check_input(
    path: str | Path, *, what: str = "", max_bytes: int = MAX_TRACE_BYTES,
    error: Callable[[str], Exception] = InputError,
) -> Path:
    """``path`` if it is a regular file (symbolic links followed) of at most ``max_bytes``.

    Parameters
    ----------
    path : str or Path
    what : str
        How the user gave it (``"--real"``, ``"--config"``), for the message.
    max_bytes : int
        Largest size on disk [bytes].
    error : exception class
        Raised with the one-line message (default :class:`InputError`).

    Raises
    ------
    InputError (or ``error``)
        The path does not exist, is not a regular file (a folder, ``/dev/zero``, a FIFO) or
        is larger than ``max_bytes``.
    """
    path = Path(path)
    label = _label(path, what)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise error(f"{label}: file not found") from None
    except OSError as exc:
        raise error(f"{label}: cannot read it ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{label}: is {_kind(st.st_mode)}, not a regular file; allowed: a regular file")
    if st.st_size > max_bytes:
        raise error(
            f"{label}: {format_bytes(st.st_size)} on disk; allowed: at most {format_bytes(max_bytes)}"
        )
    return path


class _Bounded(io.RawIOBase):
    """A raw binary stream over ``inner`` that stops at ``max_bytes`` (and a line length)."""

    def __init__(
        self, inner: BinaryIO, label: str, max_bytes: int, max_line_bytes: int | None,
        compressed: bool, error: Callable[[str], Exception], closers: tuple[object, ...] = (),
    ) -> None:
        super().__init__()
        self._inner = inner
        self._label = label
        self._max = max_bytes
        self._max_line = max_line_bytes
        self._compressed = compressed
        self._error = error
        self._closers = closers
        self._n = 0
        self._since_newline = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), _CHUNK)
        data = self._inner.read(want)
        n = len(data)
        if not n:
            return 0
        self._n += n
        if self._n > self._max:
            how = "once decompressed" if self._compressed else "read"
            raise self._error(
                f"{self._label}: more than {format_bytes(self._max)} {how}; "
                f"allowed: at most {format_bytes(self._max)}"
            )
        if self._max_line is not None:
            self._check_lines(data)
        buffer[:n] = data
        return n

    def _check_lines(self, data: bytes) -> None:
        arr = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero((arr == 10) | (arr == 13))
        if ends.size == 0:
            longest = self._since_newline + len(data)
            self._since_newline = longest
        else:
            first = self._since_newline + int(ends[0])
            inner = int(np.diff(ends).max()) - 1 if ends.size > 1 else 0
            longest = max(first, inner)
            self._since_newline = len(data) - int(ends[-1]) - 1
        if longest > self._max_line:
            raise self._error(
                f"{self._label}: a line longer than {format_bytes(self._max_line)}; allowed: text lines "
                f"of at most {format_bytes(self._max_line)} (is it a text file?)"
            )

    def close(self) -> None:
        if not self.closed:
            for c in (self._inner, *self._closers):
                try:
                    c.close()  # type: ignore[attr-defined]
                except Exception:  # noqa: BLE001 - closing a broken archive must not mask the error
                    pass
        super().close()


def open_input(
    path: str | Path,
    *,
    what: str = "",
    max_bytes: int = MAX_TRACE_BYTES,
    max_inflated_bytes: int = MAX_TRACE_INFLATED_BYTES,
    max_line_bytes: int | None = None,
    error: Callable[[str], Exception] = InputError,
) -> BinaryIO:
    """Open a regular file for reading, decompressed by its suffix, with bounds.

    Parameters
    ----------
    path : str or Path
        A regular file; ``.gz``, ``.xz``, ``.bz2`` and ``.zip`` (one member) are
        decompressed as they are read.
    what : str
        How the user gave it (``"--real"``), for the messages.
    max_bytes : int
        Largest size on disk [bytes] (:func:`check_input`).
    max_inflated_bytes : int
        Largest number of bytes the stream yields (decompressed) [bytes].
    max_line_bytes : int, optional
        For text: longest run of bytes without a line break [bytes].
    error : exception class
        Raised with the one-line message (default :class:`InputError`).

    Returns
    -------
    A buffered binary stream (close it, or use it in a ``with`` block). Reading past a
    bound raises ``error``; a corrupt archive raises the decompressor's own error
    (:class:`EOFError`, :class:`OSError`, :class:`lzma.LZMAError`) while reading.
    """
    path = check_input(path, what=what, max_bytes=max_bytes, error=error)
    label = _label(path, what)
    suffix = path.suffix.lower()
    closers: tuple[object, ...] = ()
    inner: BinaryIO
    if suffix == ".zip":
        try:
            zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise error(f"{label}: not a zip archive ({exc}); allowed: a zip holding one file") from None
        names = [i for i in zf.infolist() if not i.is_dir()]
        if not names:
            zf.close()
            raise error(f"{label}: empty zip archive (no file inside); allowed: a zip holding one CSV file")
        inner, closers = zf.open(names[0]), (zf,)  # type: ignore[assignment]
    elif suffix == ".gz":
        inner = gzip.open(path, "rb")  # type: ignore[assignment]
    elif suffix == ".xz":
        inner = lzma.open(path, "rb")  # type: ignore[assignment]
    elif suffix == ".bz2":
        inner = bz2.open(path, "rb")  # type: ignore[assignment]
    else:
        inner = open(path, "rb")  # noqa: SIM115 - closed with the returned stream
    raw = _Bounded(inner, label, max_inflated_bytes, max_line_bytes, suffix in _COMPRESSED, error, closers)
    return io.BufferedReader(raw, buffer_size=_CHUNK)  # type: ignore[return-value]


def open_trace(path: str | Path, *, error: Callable[[str], Exception] = InputError) -> BinaryIO:
    """:func:`open_input` with the bounds of a real trace (text: CSV, compressed or not).

    At most :data:`MAX_TRACE_BYTES` on disk, :data:`MAX_TRACE_INFLATED_BYTES` decompressed
    and lines of at most :data:`MAX_TRACE_LINE_BYTES`.
    """
    return open_input(
        path, max_bytes=MAX_TRACE_BYTES, max_inflated_bytes=MAX_TRACE_INFLATED_BYTES,
        max_line_bytes=MAX_TRACE_LINE_BYTES, error=error,
    )


def read_input_bytes(
    path: str | Path, *, what: str = "", max_bytes: int = MAX_CONFIG_BYTES,
    error: Callable[[str], Exception] = InputError,
) -> bytes:
    """The whole content of a small regular file (a scenario), at most ``max_bytes``.

    The size is checked before reading and again while reading (a file that grows meanwhile
    is not read past the cap).
    """
    with open_input(path, what=what, max_bytes=max_bytes, max_inflated_bytes=max_bytes, error=error) as f:
        return f.read()


def check_output_path(
    path: str | Path,
    kind: Literal["file", "folder"],
    *,
    what: str = "",
    ours: Callable[[Path], str | None] | None = None,
    error: Callable[[str], Exception] = OutputPathError,
) -> Path:
    """Check that writing ``path`` can only create something new or replace our own.

    Symbolic links are resolved first, so the checks apply to what would really be
    replaced. A ``file`` output may exist only as a regular file, a ``folder`` output only
    as a folder; ``ours(resolved)`` (when given, and the path exists and is non-empty)
    returns None if the existing file or folder is one this command wrote, else a short
    description of why it is not, and the path is refused. The nearest existing parent must
    be a folder.

    Parameters
    ----------
    path : str or Path
    kind : {"file", "folder"}
    what : str
        How the user gave it (``"--out"``), for the messages.
    ours : callable, optional
        ``ours(resolved_path) -> None | str``: None when the existing content is ours.
    error : exception class
        Raised with the one-line message (default :class:`OutputPathError`).

    Returns
    -------
    Path
        The resolved path (write there, not through the link).
    """
    given = Path(path)
    label = _label(given, what)
    if str(path) == "":
        raise error(f"{what or 'output path'}: empty; allowed: a {kind} path")
    try:
        resolved = given.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise error(f"{label}: cannot resolve it ({exc}); allowed: a {kind} path") from None
    try:
        st = os.stat(resolved)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        raise error(f"{label}: cannot inspect it ({exc.strerror or exc})") from None
    if st is None:
        above = resolved.parent
        while not above.exists() and above != above.parent:
            above = above.parent
        if not above.is_dir():
            raise error(f"{label}: {above} is {_kind(os.stat(above).st_mode)}, not a folder")
        return resolved
    if kind == "file" and not stat.S_ISREG(st.st_mode):
        raise error(
            f"{label}: exists and is {_kind(st.st_mode)}; allowed: a new path or a regular file "
            "this command wrote"
        )
    if kind == "folder" and not stat.S_ISDIR(st.st_mode):
        what_it_is = "a regular file" if stat.S_ISREG(st.st_mode) else _kind(st.st_mode)
        raise error(f"{label}: exists and is {what_it_is}, not a folder; choose another output path")
    if ours is not None:
        empty = kind == "folder" and not any(resolved.iterdir())
        if not empty:
            why = ours(resolved)
            if why is not None:
                raise error(f"{label}: {why}")
    return resolved
