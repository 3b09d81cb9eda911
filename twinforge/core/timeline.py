"""Piecewise-constant signals recorded by SimPy processes and rendered with numpy.

A process calls :meth:`StepSignal.set` only when its value changes (an appliance starts,
a heat pump switches). The renderer turns the step function into samples on the grid in
one vectorised pass: the exact mean over each sample interval (from the running integral)
or the value at each sample time.
"""

from __future__ import annotations

import numpy as np

__all__ = ["StepSignal"]


class StepSignal:
    """A right-continuous step function of time, recorded change by change.

    Parameters
    ----------
    initial : float
        Value from ``t_s = -inf`` until the first change.
    """

    __slots__ = ("_t", "_v", "_last")

    def __init__(self, initial: float = 0.0) -> None:
        self._t: list[float] = [-np.inf]
        self._v: list[float] = [float(initial)]
        self._last = float(initial)

    @property
    def value(self) -> float:
        """The latest value."""
        return self._last

    def set(self, t_s: float, value: float) -> None:
        """From ``t_s`` on the signal is ``value``; changes must come in time order."""
        value = float(value)
        if t_s < self._t[-1]:
            raise ValueError(f"changes must be in time order: {t_s} < {self._t[-1]}")
        if t_s == self._t[-1]:
            self._v[-1] = value
        elif value != self._last:
            self._t.append(float(t_s))
            self._v.append(value)
        self._last = value

    def add(self, t_s: float, delta: float) -> None:
        """Shift the value by ``delta`` from ``t_s`` on (several sources share a signal)."""
        self.set(t_s, self._last + delta)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Change times [s] and values, ndarrays of shape (n_changes,)."""
        return np.asarray(self._t, dtype=np.float64), np.asarray(self._v, dtype=np.float64)

    def at(self, t_s: np.ndarray) -> np.ndarray:
        """Values at the times ``t_s`` (right-continuous), ndarray like ``t_s``."""
        times, values = self.arrays()
        return values[np.searchsorted(times, t_s, side="right") - 1]

    def mean_over(self, edges_s: np.ndarray) -> np.ndarray:
        """Exact mean over each interval ``[edges_s[k], edges_s[k + 1])``.

        Parameters
        ----------
        edges_s : ndarray of shape (n + 1,)
            Increasing interval edges [s]; must lie after the first recorded change
            that is still kept (see :meth:`discard_before`).

        Returns
        -------
        ndarray of shape (n,)
        """
        times, values = self.arrays()
        lo, hi = edges_s[0], edges_s[-1]
        inside = (times > lo) & (times < hi)
        knots = np.concatenate(([lo], times[inside], [hi]))
        level = values[np.searchsorted(times, knots[:-1], side="right") - 1]
        integral = np.concatenate(([0.0], np.cumsum(level * np.diff(knots))))
        cum = np.interp(edges_s, knots, integral)
        return np.diff(cum) / np.diff(edges_s)

    def discard_before(self, t_s: float) -> None:
        """Forget changes before ``t_s``, keeping the value in force at ``t_s``."""
        times = self._t
        k = int(np.searchsorted(np.asarray(times), t_s, side="right")) - 1
        if k > 0:
            self._t = [-np.inf] + times[k + 1 :]
            self._v = self._v[k:]
