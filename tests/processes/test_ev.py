"""EV parameters and the charging session (the daily process: tests/components/test_ev.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from twinforge.processes import ev


def test_charging_session():
    assert ev.charging_session(14.8, 7.4, 36_000.0) == (7200.0, 14.8)
    dur, e = ev.charging_session(100.0, 7.4, 3600.0)  # cut by departure
    assert dur == 3600.0 and e == pytest.approx(7.4)
    assert ev.charging_session(0.0, 7.4, 3600.0) == (0.0, 0.0)


def test_params_validated():
    with pytest.raises(ValidationError):
        ev.EVParams(battery_kwh=300.0)
    with pytest.raises(ValidationError):
        ev.EVParams(charger_kw=50.0)
    with pytest.raises(ValidationError):
        ev.EVParams(kwh_per_km=0.05)
    with pytest.raises(ValidationError):
        ev.EVParams(wheels=4)
