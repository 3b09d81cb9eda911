"""Buffered random streams: one named stream per home and process, read in time order.

A compiled kernel advances many processes (one per home, or per home and appliance) through
a block of time and takes random numbers as it goes: an exponential gap, a uniform, a
duration factor. Each process has its own :class:`numpy.random.Generator` (a named child of
its home's streams) and a row of pre-drawn values per kind; the kernel reads the rows from
a position it advances, and stops a process when its row runs out; :meth:`Buffers.refill`
then draws the next batch of that row from the same generator. A process therefore reads
the same numbers in the same order whatever the block cuts, the number of homes simulated
together or the order in which the kernel visits them: a home's output depends only on its
own streams.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["Buffers"]

#: Values drawn per row and kind at each refill.
DEFAULT_BATCH = 256


class Buffers:
    """Rows of pre-drawn variates, one row (and one generator) per process.

    Parameters
    ----------
    rngs : sequence of numpy.random.Generator
        One generator per process (row).
    kinds : dict of str to (callable ``(rng, size) -> ndarray``, int)
        How to draw each kind of variate and how many of them one record holds (e.g.
        ``{"u": (lambda r, n: r.random(n), 2)}``). Every refill of a row draws, in this
        order, ``batch x width`` values of each kind from the row's generator.
    batch : int
        Records per row per refill.

    Attributes
    ----------
    values : dict of str to ndarray of shape (n_rows, batch * width)
        Record ``j`` of kind ``k`` is ``values[k][row, j * width : (j + 1) * width]``.
    pos : ndarray of int64 of shape (n_rows,)
        Next unread record of each row (a kernel reads all kinds of a record together,
        used or not, so the kinds stay in step).
    """

    def __init__(
        self,
        rngs: Sequence[np.random.Generator],
        kinds: dict[str, tuple[Callable[[np.random.Generator, int], np.ndarray], int]],
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self.rngs = list(rngs)
        self.kinds = dict(kinds)
        self.batch = int(batch)
        n = len(self.rngs)
        self.values = {k: np.empty((n, self.batch * w)) for k, (_, w) in self.kinds.items()}
        self.pos = np.full(n, self.batch, dtype=np.int64)
        self.refill(np.arange(n))

    def refill(self, rows) -> None:
        """Draw a fresh batch for each of ``rows`` (their positions restart at 0)."""
        for r in np.asarray(rows, dtype=np.int64).tolist():
            rng = self.rngs[r]
            for kind, (draw, width) in self.kinds.items():
                self.values[kind][r] = draw(rng, self.batch * width)
            self.pos[r] = 0

    def empty_rows(self) -> np.ndarray:
        """Rows whose batch is used up."""
        return np.flatnonzero(self.pos >= self.batch)

    def state(self) -> tuple:
        """A copy of everything a rewind needs (see :meth:`restore`)."""
        return (
            {k: v.copy() for k, v in self.values.items()},
            self.pos.copy(),
            [r.bit_generator.state for r in self.rngs],
        )

    def restore(self, state: tuple) -> None:
        values, pos, rng_states = state
        for k, v in values.items():
            self.values[k][:] = v
        self.pos[:] = pos
        for r, s in zip(self.rngs, rng_states):
            r.bit_generator.state = s
