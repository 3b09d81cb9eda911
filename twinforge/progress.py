"""Progress bars: one rule for every long piece of work (campaigns, generate, verify, fidelity).

A bar is tqdm's text bar on stderr, shown unless the caller turned progress off (``--quiet``,
``progress=False``). It is never ``tqdm.auto``'s widget, which in a notebook without ipywidgets
warns instead of drawing. On a terminal the bar redraws in place; anywhere else (a log file, a CI
job, ``nohup``, a notebook's output) it first shows after :data:`OFF_TERMINAL_INTERVAL_S`
seconds and then redraws at most that often: a long run still shows it is alive, without
filling the log, and a short command (or one that fails at once, with its one-line error)
writes no bar at all.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

__all__ = ["OFF_TERMINAL_INTERVAL_S", "bar"]

#: Shortest time between two redraws of a bar when stderr is not a terminal [s].
OFF_TERMINAL_INTERVAL_S = 30.0


def bar(enabled: bool, **kw: Any) -> Any:
    """A ``tqdm`` progress bar on stderr (``kw`` as for ``tqdm``); a disabled one when not ``enabled``."""
    if enabled and not _stderr_is_terminal():
        kw.setdefault("mininterval", OFF_TERMINAL_INTERVAL_S)
        kw.setdefault("delay", OFF_TERMINAL_INTERVAL_S)
    return _bar_class()(disable=not enabled, **kw)


@functools.cache
def _bar_class() -> type:
    from tqdm import tqdm

    class Bar(tqdm):
        """tqdm whose explicit redraws (``set_postfix_str``, ``refresh``) follow ``delay`` and
        ``mininterval`` off a terminal, as its own updates do (there, ``delay`` is set)."""

        def refresh(self, *args: Any, **kwargs: Any) -> Any:
            if not self.disable and self.delay:
                now = self._time()
                if now < self.start_t + self.delay or now - self.last_print_t < self.mininterval:
                    return None
            return super().refresh(*args, **kwargs)

    return Bar


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False
