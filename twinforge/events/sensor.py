"""Sensor faults: a failing sensor changes what is reported, never the state of the twin.

Each fault acts on ONE measured channel of a twin (kind ``"interval"`` or ``"instant"``,
never a label), named in the scheduled event's ``params``::

    [[events]]
    type = "sensor_stuck"
    start = "2024-01-10T06:00"
    duration_h = 12
    severity = 1
    params = {channel = "temp_indoor_c"}

:meth:`SensorFault.apply` logs the event (category ``"sensor"``, ``label=True``, so it
labels the grid over ``[start, end)``) and adds a *corruption* to the twin's
``measurements`` target (:data:`twinforge.core.twin.TARGETS`, exposed by every twin);
:func:`twinforge.core.engine.simulate` applies it to every rendered block after the twin
rendered it. The thermostat, the battery controller, the relay and
every other process keep working on the true state; only the reported column differs,
and only at the samples ``t`` with ``start <= t < end``. Measured balances that sum
other columns (``load_power_w = appliance_power_w + ...``) are not recomputed: a faulty
sub-meter breaks them, as it would in real data.

Each fault draws from its own stream ``sensor_fault/<event_id>`` of the twin, and draws
sample by sample in time order, so the output does not depend on the chunking of the
grid. Integer channels are rounded back to their dtype after the fault (drift, spikes,
noise, jitter); ``sensor_dropout`` needs a float channel to hold NaN.

================== ===================================================== ===================
type               reported value inside ``[start, end)``               severity
================== ===================================================== ===================
sensor_drift       :math:`x + d\\,s\\,(t - t_0)/(t_1 - t_0)`, ``d = +-1``   :math:`s` = offset at
                   (``direction``)                                        the end [unit]
sensor_stuck       the reading of the first sample in the window         unused (1)
sensor_dropout     NaN with probability :math:`s` per sample              share missing [1]
sensor_spikes      :math:`x \\pm s` at Poisson times (``rate_per_h``)     amplitude [unit]
sensor_noise_burst :math:`x + s\\,z`, :math:`z \\sim N(0, 1)`             noise sd [unit]
clock_jitter       :math:`x(t + \\delta)`, :math:`\\delta \\sim N(0, s^2)`  :math:`s` [s]
================== ===================================================== ===================
"""

from __future__ import annotations

import functools
import math
from typing import Any, ClassVar

import numpy as np

from twinforge.core.eventlog import severity_unit_of
from twinforge.core.registry import EVENTS, TWINS
from twinforge.core.schema import ChannelSpec
from twinforge.events.base import EventType, receivers

__all__ = [
    "SensorFault",
    "SensorDrift",
    "SensorStuck",
    "SensorDropout",
    "SensorSpikes",
    "SensorNoiseBurst",
    "ClockJitter",
    "Corruption",
    "measured_channels",
]

_MEASURED = ("interval", "instant")


def measured_channels(channels: tuple[ChannelSpec, ...], *, float_only: bool = False) -> list[str]:
    """Names of the measured channels (not labels) among ``channels``; floats only if asked."""
    return [
        c.name for c in channels
        if c.kind in _MEASURED and (not float_only or np.issubdtype(np.dtype(c.dtype), np.floating))
    ]


@functools.lru_cache(maxsize=16)
def _default_channels(twin: str) -> tuple[ChannelSpec, ...] | None:
    """Channels a twin declares with its default configuration (None: twin not registered)."""
    import twinforge.twins  # noqa: F401  (registers the built-in twins)
    from twinforge.core.rng import RngStreams

    if twin not in TWINS:
        return None
    plugin = TWINS.get(twin)
    return tuple(plugin(plugin.Config(), RngStreams(0)).channels())


# --------------------------------------------------------------------------- corruptions


class Corruption:
    """Replace one channel of each block at the samples inside ``[start_s, end_s)``.

    Called by the engine on consecutive blocks in time order; subclasses implement
    :meth:`corrupt` on the window's samples of one block (float64 copies) and may keep
    state from one block to the next.
    """

    def __init__(self, channel: str, start_s: float, end_s: float) -> None:
        self.channel, self.start_s, self.end_s = channel, float(start_s), float(end_s)

    def __call__(self, block: dict[str, np.ndarray], t_s: np.ndarray) -> None:
        x = np.asarray(block[self.channel])
        self.observe(x, t_s)
        lo = int(np.searchsorted(t_s, self.start_s, side="left"))
        hi = int(np.searchsorted(t_s, self.end_s, side="left"))
        if hi > lo:
            y = x.astype(np.float64, copy=True)
            y[lo:hi] = self.corrupt(y[lo:hi], t_s[lo:hi])
            if np.issubdtype(x.dtype, np.integer):
                y = np.rint(y)
            block[self.channel] = y.astype(x.dtype, copy=False)
        self.remember(x, t_s)

    def observe(self, x: np.ndarray, t_s: np.ndarray) -> None:
        """Called with the block's reading before :meth:`corrupt` (default: nothing)."""

    def remember(self, x: np.ndarray, t_s: np.ndarray) -> None:
        """Called with the block's uncorrupted reading after it (default: nothing)."""

    def corrupt(self, x: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _Drift(Corruption):
    def __init__(self, channel, start_s, end_s, amount: float) -> None:
        super().__init__(channel, start_s, end_s)
        self.amount = amount

    def corrupt(self, x, t_s):
        return x + self.amount * (t_s - self.start_s) / (self.end_s - self.start_s)


class _Stuck(Corruption):
    def __init__(self, channel, start_s, end_s) -> None:
        super().__init__(channel, start_s, end_s)
        self.value: float | None = None

    def corrupt(self, x, t_s):
        if self.value is None:
            self.value = float(x[0])
        return np.full_like(x, self.value)


class _Dropout(Corruption):
    def __init__(self, channel, start_s, end_s, share: float, rng: np.random.Generator) -> None:
        super().__init__(channel, start_s, end_s)
        self.share, self.rng = share, rng

    def corrupt(self, x, t_s):
        if self.share >= 1.0:
            return np.full_like(x, np.nan)
        if self.share <= 0.0:
            return x
        return np.where(self.rng.random(len(x)) < self.share, np.nan, x)


class _Spikes(Corruption):
    """Spikes at Poisson times ``tau``: each shows in the first reading at or after it."""

    def __init__(self, channel, start_s, end_s, amplitude: float, rate_per_h: float, rng) -> None:
        super().__init__(channel, start_s, end_s)
        n = int(rng.poisson(rate_per_h * (end_s - start_s) / 3600.0))
        self.tau = np.sort(rng.uniform(start_s, end_s, n))
        self.jump = amplitude * np.where(rng.random(n) < 0.5, -1.0, 1.0)
        self.next = 0  # first spike not shown yet

    def corrupt(self, x, t_s):
        j0 = self.next
        j1 = int(np.searchsorted(self.tau, t_s[-1], side="right"))
        if j1 > j0:
            k = np.searchsorted(t_s, self.tau[j0:j1], side="left")
            np.add.at(x, k, self.jump[j0:j1])
        self.next = j1
        return x


class _Noise(Corruption):
    def __init__(self, channel, start_s, end_s, sd: float, rng) -> None:
        super().__init__(channel, start_s, end_s)
        self.sd, self.rng = sd, rng

    def corrupt(self, x, t_s):
        return x + self.sd * self.rng.standard_normal(len(x))


class _Jitter(Corruption):
    """Reading at ``t + delta``: ``x_k + delta_k (x_k - x_{k-1}) / (t_k - t_{k-1})``.

    The slope is the backward difference, so the reading never uses a later sample (and
    does not depend on the chunking); for ``-dt <= delta <= 0`` this is exact linear
    interpolation between the two samples, for ``delta > 0`` its extrapolation.
    ``delta`` is clipped to one sample period either way.
    """

    def __init__(self, channel, start_s, end_s, sd_s: float, rng) -> None:
        super().__init__(channel, start_s, end_s)
        self.sd_s, self.rng = sd_s, rng
        self.prev_x = math.nan
        self.prev_t = math.nan
        self._raw = np.empty(0)

    def observe(self, x, t_s):
        self._raw = np.asarray(x, dtype=np.float64)
        self._t = t_s

    def corrupt(self, x, t_s):
        k0 = int(np.searchsorted(self._t, t_s[0]))
        raw, t = self._raw, self._t
        if k0 > 0:
            px, pt = raw[k0 - 1 : k0 - 1 + len(x)], t[k0 - 1 : k0 - 1 + len(x)]
        else:
            px = np.concatenate(([self.prev_x], raw[: len(x) - 1]))
            pt = np.concatenate(([self.prev_t], t[: len(x) - 1]))
        delta = self.sd_s * self.rng.standard_normal(len(x))
        first = ~np.isfinite(pt)  # the run's first sample: no earlier reading, no slope
        dt = np.where(first, 1.0, t_s - pt)
        delta = np.where(first, 0.0, np.clip(delta, -dt, dt))
        slope = np.where(first, 0.0, (x - px) / dt)
        return x + delta * slope

    def remember(self, x, t_s):
        if len(t_s):
            self.prev_x, self.prev_t = float(x[-1]), float(t_s[-1])


# --------------------------------------------------------------------------- event types


def _number(name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not lo < value <= hi:
        raise ValueError(f"{name} must be within ({lo:g}, {hi:g}], got {value!r}")
    return float(value)


class SensorFault(EventType):
    """Base of the sensor faults: one measured channel, given as ``params.channel``."""

    category: ClassVar[str] = "sensor"
    needs: ClassVar[tuple[str, ...]] = ("measurements",)
    #: Only float channels (NaN must fit).
    float_only: ClassVar[bool] = False
    #: Optional params besides ``channel``: name -> default.
    options: ClassVar[dict[str, Any]] = {}

    # -- validation ---------------------------------------------------------------------
    @classmethod
    def check_option(cls, name: str, value: Any) -> Any:
        """Validate one optional parameter; returns its value."""
        return value

    @classmethod
    def check_channel(
        cls, channel: str, channels: tuple[ChannelSpec, ...], twin: str
    ) -> ChannelSpec:
        """The spec of ``channel`` among a twin's ``channels``; ValueError if not usable."""
        allowed = ", ".join(measured_channels(channels, float_only=cls.float_only))
        spec = next((c for c in channels if c.name == channel), None)
        if spec is None:
            raise ValueError(
                f"channel {channel!r} is not a channel of the {twin} twin; "
                f"{cls.name} acts on one of: {allowed}"
            )
        if spec.kind not in _MEASURED:
            raise ValueError(
                f"channel {channel!r} is a label of the {twin} twin (ground truth), not a "
                f"measured channel; {cls.name} acts on one of: {allowed}"
            )
        if cls.float_only and not np.issubdtype(np.dtype(spec.dtype), np.floating):
            raise ValueError(
                f"{cls.name} writes NaN, which the {spec.dtype} channel {channel!r} "
                f"of the {twin} twin cannot hold; float channels: {allowed}"
            )
        return spec

    @classmethod
    def check_params(
        cls, params: dict[str, Any], channels: tuple[ChannelSpec, ...] | None = None, twin: str = ""
    ) -> None:
        """Refuse bad ``params`` with a ValueError naming the field and what is allowed.

        With ``channels`` (a twin's declared channels) the channel is checked exactly;
        without (scenario validation, which does not know the twin's configuration), it
        must be a channel this fault can act on in at least one of :attr:`twins` with its
        default configuration.
        """
        unknown = sorted(set(params) - {"channel"} - set(cls.options))
        if unknown:
            known = ", ".join(["channel", *cls.options])
            raise ValueError(f"unknown key(s) {', '.join(unknown)} for {cls.name}; known: {known}")
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel:
            raise ValueError(
                f"{cls.name} needs params.channel, the measured channel it acts on, "
                "e.g. params = {channel = 'temp_indoor_c'}"
            )
        for name, value in params.items():
            if name != "channel":
                cls.check_option(name, value)
        if channels is not None:
            cls.check_channel(channel, channels, twin)
            return
        specific: list[ValueError] = []
        lists: list[str] = []
        for name in receivers(cls):
            declared = _default_channels(name)
            if declared is None:
                continue
            try:
                cls.check_channel(channel, declared, name)
                return
            except ValueError as e:
                if any(c.name == channel for c in declared):
                    specific.append(e)  # the twin has it, but as a label or of the wrong dtype
                usable = measured_channels(declared, float_only=cls.float_only)
                lists.append(f"{name}: {', '.join(usable)}")
        if specific:
            raise specific[0]
        raise ValueError(
            f"unknown channel {channel!r}; {cls.name} acts on a measured channel "
            f"of the twin: {'; '.join(lists)}"
        )

    # -- action -------------------------------------------------------------------------
    def apply(self, twin: Any, start_s: float, end_s: float, severity: float, **params: Any) -> int:
        if not params:
            raise ValueError(
                f"events: {self.name} received no params from the {twin.name} "
                "twin; a twin must call apply(twin, start_s, end_s, severity, **event.params)"
            )
        try:
            self.check_params(params, tuple(twin.channels()), twin.name)
        except ValueError as e:
            raise ValueError(f"events: {self.name} params: {e}") from None
        settings = {**self.options, **params}
        unit = severity_unit_of(self.name)  # "channel unit" (or "" if unused): the channel's
        if unit.startswith("channel unit"):
            unit = next((c.unit for c in twin.channels() if c.name == settings.get("channel")), unit)
        eid = twin.log.log("sensor", self.name, start_s, end_s, severity, label=True,
                           severity_unit=unit, **settings)
        rng = twin.streams.generator(f"sensor_fault/{eid}")
        twin.target("measurements").add_corruption(
            self.corruption(settings, float(start_s), float(end_s), float(severity), rng)
        )
        return eid

    def corruption(
        self,
        settings: dict[str, Any],
        start_s: float,
        end_s: float,
        severity: float,
        rng: np.random.Generator,
    ) -> Corruption:
        """The corruption that this fault applies to the rendered blocks."""
        raise NotImplementedError


@EVENTS.register("sensor_drift")
class SensorDrift(SensorFault):
    """Linear drift of the reading: 0 at the start, ``severity`` [channel unit] at the end.

    ``params.direction`` = ``"up"`` (default) or ``"down"``. The reading is back to
    normal after the window (sensor recalibrated or replaced).
    """

    name = "sensor_drift"
    severity_unit = "channel unit (offset at the end)"
    severity_range = (0.0, 1e6)
    options = {"direction": "up"}

    @classmethod
    def check_option(cls, name: str, value: Any) -> Any:
        if value not in ("up", "down"):
            raise ValueError(f"direction must be 'up' or 'down', got {value!r}")
        return value

    def corruption(self, settings, start_s, end_s, severity, rng):
        sign = 1.0 if settings["direction"] == "up" else -1.0
        return _Drift(settings["channel"], start_s, end_s, sign * severity)


@EVENTS.register("sensor_stuck")
class SensorStuck(SensorFault):
    """The reading freezes at its value at onset (the first sample in the window).

    ``severity`` is not used (write 1).
    """

    name = "sensor_stuck"
    severity_unit = "unused"
    severity_range = (0.0, 1.0)

    def corruption(self, settings, start_s, end_s, severity, rng):
        return _Stuck(settings["channel"], start_s, end_s)


@EVENTS.register("sensor_dropout")
class SensorDropout(SensorFault):
    """Missing samples: NaN with probability ``severity`` per sample (1: the whole window).

    Float channels only (an integer column cannot hold NaN).
    """

    name = "sensor_dropout"
    severity_unit = "share of samples missing"
    severity_range = (0.0, 1.0)
    float_only = True

    def corruption(self, settings, start_s, end_s, severity, rng):
        return _Dropout(settings["channel"], start_s, end_s, severity, rng)


@EVENTS.register("sensor_spikes")
class SensorSpikes(SensorFault):
    """Spikes of +-``severity`` [channel unit] (random sign) at Poisson times.

    ``params.rate_per_h`` (default 1) is the rate [h-1]; a spike at time ``tau`` shows in
    the first reading at or after ``tau`` (two in one sample period add up).
    """

    name = "sensor_spikes"
    severity_unit = "channel unit (spike amplitude)"
    severity_range = (0.0, 1e6)
    options = {"rate_per_h": 1.0}

    @classmethod
    def check_option(cls, name: str, value: Any) -> Any:
        return _number(name, value, 0.0, 3600.0)

    def corruption(self, settings, start_s, end_s, severity, rng):
        rate = float(settings["rate_per_h"])
        return _Spikes(settings["channel"], start_s, end_s, severity, rate, rng)


@EVENTS.register("sensor_noise_burst")
class SensorNoiseBurst(SensorFault):
    """Extra white Gaussian noise of standard deviation ``severity`` [channel unit]."""

    name = "sensor_noise_burst"
    severity_unit = "channel unit (noise standard deviation)"
    severity_range = (0.0, 1e6)

    def corruption(self, settings, start_s, end_s, severity, rng):
        return _Noise(settings["channel"], start_s, end_s, severity, rng)


@EVENTS.register("clock_jitter")
class ClockJitter(SensorFault):
    """Readings taken at jittered times ``t + delta``, ``delta ~ N(0, severity^2)`` [s].

    The channel is interpolated linearly on the segment ending at the sample
    (see :class:`_Jitter`); ``delta`` is clipped to one sample period.
    """

    name = "clock_jitter"
    severity_unit = "s (standard deviation of the timing error)"
    severity_range = (0.0, 3600.0)

    def corruption(self, settings, start_s, end_s, severity, rng):
        return _Jitter(settings["channel"], start_s, end_s, severity, rng)
