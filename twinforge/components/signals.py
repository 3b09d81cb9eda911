"""Exact interval means of pulses, for many units at once (compiled).

A process that switches a constant power on over ``[a, b)`` adds it to the block's interval
means with :func:`add_pulse`; the same sum as :meth:`~twinforge.core.timeline.StepSignal.mean_over`
gives for one unit, for a (time, unit) block.
"""

from __future__ import annotations

import math

from twinforge.core.jit import njit

__all__ = ["add_pulse"]


@njit
def add_pulse(out, h, i0, dt, a, b, p):
    """Add a constant ``p`` over ``[a, b)`` to the interval means ``out[:, h]``.

    ``out`` holds the block's steps ``i0 .. i0 + n - 1`` of length ``dt`` (global step ``k``
    covers ``[k dt, (k + 1) dt)``); the part of the pulse outside the block is ignored, so a
    pulse that spans blocks is added again, clipped, to the next one. Step edges are computed
    from global indices, so the sums do not depend on where blocks are cut.
    """
    n = out.shape[0]
    t_lo = i0 * dt
    t_hi = (i0 + n) * dt
    if b <= t_lo or a >= t_hi or b <= a or p == 0.0:
        return
    a = max(a, t_lo)
    b = min(b, t_hi)
    ka = int(math.floor(a / dt)) - i0
    kb = int(math.floor(b / dt)) - i0
    ka = max(ka, 0)
    if kb >= n:  # b at the block's end
        kb = n - 1
    tail = b - (i0 + kb) * dt
    if ka == kb:
        out[ka, h] += p * (b - a) / dt
        return
    out[ka, h] += p * ((i0 + ka + 1) * dt - a) / dt
    for k in range(ka + 1, kb):
        out[k, h] += p
    if tail > 0.0:
        out[kb, h] += p * tail / dt
