"""Random streams: one root seed per run, one named child stream per component.

Every stochastic component draws from its own :class:`numpy.random.Generator`, derived
from the run's root :class:`numpy.random.SeedSequence` and a *stable name* (for example
``"home/occupancy/occupant-0"``). The name is hashed into the seed sequence's spawn key,
so adding or removing a component never shifts the draws of another one (Scientific
Python SPEC 7; NumPy "Parallel random number generation").
"""

from __future__ import annotations

import hashlib
import secrets

import numpy as np

__all__ = ["RngStreams", "name_key"]


def name_key(name: str) -> tuple[int, ...]:
    """Stable spawn-key words for ``name``: the first 128 bits of its BLAKE2b digest."""
    if not name:
        raise ValueError("stream name must be a non-empty string")
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class RngStreams:
    """Named, independent random streams under one root seed.

    Parameters
    ----------
    seed : int or None
        Root seed (a non-negative integer). ``None`` draws fresh OS entropy; the effective
        seed is then available as :attr:`seed` so that it can be recorded in the output.
    _key : tuple of int
        Spawn key of this node (internal; use :meth:`child`).

    Examples
    --------
    >>> streams = RngStreams(7)
    >>> a = streams.generator("weather").normal()
    >>> b = RngStreams(7).generator("weather").normal()
    >>> a == b
    True
    """

    def __init__(self, seed: int | None = None, _key: tuple[int, ...] = ()) -> None:
        if seed is None:
            seed = secrets.randbits(63)
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self._seed = int(seed)
        self._key = tuple(_key)

    @property
    def seed(self) -> int:
        """The effective root seed (record it; it regenerates every stream)."""
        return self._seed

    def child(self, name: str) -> "RngStreams":
        """A sub-tree of streams under ``name`` (e.g. one home inside a feeder)."""
        return RngStreams(self._seed, self._key + name_key(name))

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        """The :class:`~numpy.random.SeedSequence` of the stream ``name``."""
        return np.random.SeedSequence(self._seed, spawn_key=self._key + name_key(name))

    def generator(self, name: str) -> np.random.Generator:
        """A fresh generator for the stream ``name`` (same name, same draws)."""
        return np.random.Generator(np.random.PCG64(self.seed_sequence(name)))

    def __repr__(self) -> str:
        return f"RngStreams(seed={self._seed}, depth={len(self._key) // 4})"
