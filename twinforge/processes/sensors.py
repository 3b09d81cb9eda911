"""Sensor models: what a meter or thermometer reports of the true state.

A measurement is the true value plus Gaussian noise (absolute ``noise_sd`` and relative
``noise_rel`` parts), optionally clipped at zero for quantities that cannot be negative,
then quantised to the sensor's resolution. The true state is never modified.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SensorParams", "measure", "quantise"]


class SensorParams(BaseModel):
    """One sensor's error model.

    Defaults for power follow an IEC 62053-21 class 1 energy meter (about 1 % of reading,
    here 0.5 % standard deviation) with 1 W resolution.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    noise_sd: float = Field(0.0, ge=0.0, description="absolute noise standard deviation [channel unit]")
    noise_rel: float = Field(0.0, ge=0.0, le=1.0, description="noise standard deviation relative to the reading [1]")
    resolution: float = Field(0.0, ge=0.0, description="quantisation step [channel unit]; 0 = none")


def quantise(x: np.ndarray, resolution: float) -> np.ndarray:
    """Round to the nearest multiple of ``resolution`` (no-op for 0)."""
    if resolution <= 0:
        return np.asarray(x, dtype=np.float64)
    return _quantise_inplace(np.array(x, dtype=np.float64), resolution)


def _quantise_inplace(x: np.ndarray, resolution: float) -> np.ndarray:
    """:func:`quantise` of a float64 array the caller owns, in place (the same bytes).

    A resolution of 1 skips the division and the product: both are exact in IEEE arithmetic.
    """
    if resolution <= 0:
        return x
    if resolution == 1.0:
        return np.round(x, out=x)
    x /= resolution
    np.round(x, out=x)
    x *= resolution
    return x


def measure(
    x: np.ndarray, params: SensorParams, rng: np.random.Generator, *, nonnegative: bool = False
) -> np.ndarray:
    """A measurement of the true values ``x`` (ndarray of shape (n,)).

    The arithmetic is done in place on one buffer; every operation is the one of
    ``quantise(max(x + (noise_sd + noise_rel |x|) z, 0), resolution)`` in the same order
    (IEEE addition and multiplication commute exactly), so the bytes do not depend on it.
    """
    x = np.asarray(x, dtype=np.float64)
    if params.noise_sd > 0 or params.noise_rel > 0:
        sd = np.abs(x)
        sd *= params.noise_rel
        sd += params.noise_sd
        out = rng.standard_normal(x.shape)
        out *= sd
        out += x
    else:
        out = x.copy()
    if nonnegative:
        np.maximum(out, 0.0, out=out)
    return _quantise_inplace(out, params.resolution)
