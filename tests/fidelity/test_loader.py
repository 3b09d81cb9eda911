"""Loading real traces: the shipped samples, the full shared files, and every error case."""

from __future__ import annotations

import gzip
import lzma
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twinforge.fidelity import (
    UNITS,
    TraceError,
    TraceWarning,
    find_gaps,
    load_pjm,
    load_trace,
    load_uci_household,
)
from twinforge.fidelity.loader import PJM_SAMPLE, UCI_SAMPLE, _sample

# The full real sets (../shared/data, CI has them) come from the ``shared_file`` fixture
# (tests/conftest.py), which skips with a reason when they are absent.
UCI_FULL = "uci_household_power/minute_household_power.csv.xz"
PJME_FULL = "pjm_hourly_load/PJME_hourly.csv"
AEP_FULL = "pjm_hourly_load/AEP_hourly.csv"

# ---------------------------------------------------------------------------------------
# shipped UCI sample


@pytest.fixture(scope="module")
def uci() -> pd.DataFrame:
    return load_uci_household()


def test_uci_sample_shape_index_and_units(uci):
    assert uci.shape == (89_280, 7)
    assert isinstance(uci.index, pd.DatetimeIndex)
    assert str(uci.index.tz) == "UTC" and uci.index.name == "time"
    assert uci.index.is_monotonic_increasing and uci.index.is_unique
    # Paris local midnight 2008-12-01 = 2008-11-30 23:00 UTC (CET, +1 h in winter)
    assert uci.index[0] == pd.Timestamp("2008-11-30 23:00", tz="UTC")
    assert uci.index[-1] == pd.Timestamp("2009-01-31 22:59", tz="UTC")
    assert list(uci.columns) == [
        "mains_power_w", "mains_reactive_power_var", "mains_voltage_v", "mains_current_a",
        "kitchen_power_w", "laundry_power_w", "water_heater_power_w",
    ]
    assert uci.attrs["units"]["mains_power_w"] == "W"
    assert uci.attrs["units"]["kitchen_power_w"] == "W"
    assert uci.attrs["units"]["mains_voltage_v"] == "V"
    p = uci["mains_power_w"].dropna()
    # PROVENANCE: active power 0.076-11.1 kW over the full set
    assert 76.0 <= p.min() and p.max() <= 11_122.0
    assert 200.0 <= p.min() < 300.0 and 9_000.0 < p.max() < 10_000.0  # this sample
    assert uci["mains_voltage_v"].between(223, 254).all() | uci["mains_voltage_v"].isna().any()
    # sub-meters are whole Wh per minute, so whole multiples of 60 W
    sub = uci[["kitchen_power_w", "laundry_power_w", "water_heater_power_w"]].dropna().to_numpy()
    assert np.allclose(sub % 60.0, 0.0) and sub.min() >= 0


def test_uci_sample_matches_raw_rows(uci):
    raw = pd.read_csv(_sample(UCI_SAMPLE), na_values="?")
    assert len(raw) == 89_280
    row = raw.iloc[12_345]
    local = pd.to_datetime(f"{row.Date} {row.Time}", format="%d/%m/%Y %H:%M:%S")
    got = uci.loc[local.tz_localize("Europe/Paris").tz_convert("UTC")]
    assert got["mains_power_w"] == pytest.approx(row.Global_active_power * 1000)
    assert got["water_heater_power_w"] == pytest.approx(row.Sub_metering_3 * 60)
    assert got["mains_reactive_power_var"] == pytest.approx(row.Global_reactive_power * 1000)


def test_uci_sample_question_marks_are_nan_gaps(uci):
    assert uci["mains_power_w"].isna().sum() == 72
    # the '?' rows have an empty last field (Sub_metering_3): NaN as well
    assert uci["water_heater_power_w"].isna().sum() == 72
    gaps = find_gaps(uci, "1min")
    assert gaps["n_missing"].tolist() == [70, 1, 1]
    assert gaps["start"].iloc[0] == pd.Timestamp("2008-12-10 09:48", tz="UTC")  # 10:48 Paris
    assert (gaps["end"] - gaps["start"] == gaps["n_missing"] * pd.Timedelta("1min")).all()


def test_uci_max_gap_interpolates_short_gaps_only():
    df = load_uci_household(max_gap="5min")
    assert df["mains_power_w"].isna().sum() == 70
    assert find_gaps(df, "1min")["n_missing"].tolist() == [70]
    filled = df.loc["2008-12-20 13:33":"2008-12-20 13:35", "mains_power_w"].to_numpy()
    assert filled[1] == pytest.approx(0.5 * (filled[0] + filled[2]))


def test_uci_resample_mean():
    df = load_uci_household(resample="15min")
    assert len(df) == 89_280 // 15
    raw = load_uci_household()
    first = raw["mains_power_w"].iloc[:15].mean()
    assert df["mains_power_w"].iloc[0] == pytest.approx(first)


@pytest.mark.slow
def test_uci_full_file_if_present(shared_file):
    with pytest.warns(TraceWarning, match="480 minutes missing"):
        df = load_uci_household(shared_file(UCI_FULL))
    # 2,075,259 rows minus 8 DST transitions x 60 minutes that Paris time cannot place
    assert len(df) == 2_075_259 - 480
    assert df["mains_power_w"].isna().sum() == 25_979
    assert df["mains_power_w"].min() == 76.0 and df["mains_power_w"].max() == 11_122.0
    gaps = find_gaps(df, "1min")
    autumn = gaps[gaps["n_missing"] == 120]
    assert len(autumn) == 4  # both UTC hours of each fall-back hour, 2007-2010


# ---------------------------------------------------------------------------------------
# shipped PJM sample


def test_pjm_sample_keeps_its_defects():
    raw = pd.read_csv(_sample(PJM_SAMPLE))
    assert list(raw.columns) == ["Datetime", "PJME_MW"]
    assert len(raw) == 8_760
    t = pd.to_datetime(raw["Datetime"])
    assert (t.diff() < pd.Timedelta(0)).sum() > 0  # unsorted, as published
    assert t[t.duplicated()].tolist() == [pd.Timestamp("2014-11-02 02:00")]
    full = pd.date_range("2014-01-01 01:00", "2015-01-01 00:00", freq="h")
    assert full.difference(t).tolist() == [pd.Timestamp("2014-03-09 03:00")]


def test_pjm_sample_loads_gap_free_in_utc():
    df = load_pjm()
    assert df.shape == (8_760, 1) and list(df.columns) == ["load_power_w"]
    assert str(df.index.tz) == "UTC" and df.index.is_unique and df.index.is_monotonic_increasing
    # hour-ending label 2014-01-01 01:00 EST = the hour beginning 00:00 EST = 05:00 UTC
    assert df.index[0] == pd.Timestamp("2014-01-01 05:00", tz="UTC")
    assert df.index[-1] == pd.Timestamp("2015-01-01 04:00", tz="UTC")
    assert find_gaps(df, "1h").empty
    assert df["load_power_w"].notna().all()
    assert 1.5e10 < df["load_power_w"].min() and df["load_power_w"].max() < 6.3e10
    # the polar vortex: 2014-01-07 is the sample's highest daily mean (PROVENANCE: 44.7 GW)
    daily = df["load_power_w"].tz_convert("America/New_York").resample("1D").mean()
    assert daily.idxmax().date() == pd.Timestamp("2014-01-07").date()
    assert daily.max() == pytest.approx(44.7e9, rel=0.01)
    # the two rows labelled 2014-11-02 02:00 become 05:00 and 06:00 UTC, in file order
    raw = pd.read_csv(_sample(PJM_SAMPLE))
    mw = raw.loc[raw["Datetime"] == "2014-11-02 02:00:00", "PJME_MW"].to_numpy() * 1e6
    got = df.loc["2014-11-02 05:00":"2014-11-02 06:00", "load_power_w"].to_numpy()
    np.testing.assert_allclose(got, mw)


def test_pjm_sample_as_hour_beginning_hits_the_dst_defects():
    """Read naively (labels = hour start), the same file has a non-existent and a repeated hour."""
    path = _sample(PJM_SAMPLE)
    kw = dict(time_col="Datetime", columns={"PJME_MW": "load_power_w"}, units={"PJME_MW": "MW"},
              tz="America/New_York", sort=True)
    with pytest.raises(TraceError, match=r"PJME_hourly_2014\.csv.*'Datetime'.*nonexistent"):
        load_trace(path, **kw)
    with pytest.raises(TraceError, match=r"PJME_hourly_2014\.csv.*'Datetime'.*Cannot infer dst"):
        load_trace(path, nonexistent="shift_forward", **kw)  # 01:00 on 2 Nov occurs only once
    dup = r"PJME_hourly_2014\.csv.*'Datetime'.*1 duplicate.*2014-11-02 07:00"
    with pytest.raises(TraceError, match=dup):
        with pytest.warns(TraceWarning, match="2 rows dropped"):
            load_trace(path, nonexistent="NaT", ambiguous="NaT", **kw)  # 02:00 EST twice
    with pytest.warns(TraceWarning) as record:
        df = load_trace(path, nonexistent="NaT", ambiguous="NaT", duplicates="mean", **kw)
    assert any("aggregated with 'mean'" in str(w.message) for w in record)
    assert df.index.is_unique and len(df) == 8_760 - 3


def test_pjm_full_file_if_present(shared_file):
    path = shared_file(PJME_FULL)
    raw = pd.read_csv(path)
    t = pd.to_datetime(raw.iloc[:, 0])
    assert len(raw) == 145_366
    assert t.duplicated().sum() == 4  # fall-back 2014-2017
    assert (t.diff() < pd.Timedelta(0)).sum() == 6_041
    naive_missing = pd.date_range(t.min(), t.max(), freq="h").difference(t)
    assert len(naive_missing) == 30
    df = load_pjm(path)  # the shared copy has a 'ds,y' header
    assert df.index.is_unique
    gaps = find_gaps(df, "1h")
    # what stays missing in UTC: both fall-back hours 2002-2013 (12 x 2) and 2010-12-10 00:00
    assert len(gaps) == 13 and gaps["n_missing"].sum() == 25
    assert len(df) == 145_366 + 25
    assert df["load_power_w"].max() == 62_009e6
    # label 17:00 EDT = the hour beginning 16:00 EDT = 20:00 UTC
    assert df["load_power_w"].idxmax() == pd.Timestamp("2006-08-02 20:00", tz="UTC")


def test_aep_full_file_if_present(shared_file):
    df = load_pjm(shared_file(AEP_FULL), zone="AEP")
    assert df.index.is_unique and len(df.columns) == 1
    assert find_gaps(df, "1h")["n_missing"].sum() == 23


# ---------------------------------------------------------------------------------------
# generic loading


def _write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        with gzip.open(path, "wt", newline="") as fh:
            fh.write(text)
    elif path.suffix == ".xz":
        with lzma.open(path, "wt", newline="") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


GOOD = "time,p_kw,t_f\n2024-01-01 00:00,1.5,32\n2024-01-01 00:01,?,212\n2024-01-01 00:02,2.0,50\n"


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.xz"])
def test_load_csv_compression_units_and_na(tmp_path, suffix):
    path = _write(tmp_path / f"trace{suffix}", GOOD)
    df = load_trace(path, columns={"p_kw": "power_w", "t_f": "temp_c"},
                    units={"p_kw": "kW", "t_f": "degF"}, tz="Europe/Paris")
    assert df.index[0] == pd.Timestamp("2023-12-31 23:00", tz="UTC")
    np.testing.assert_allclose(df["power_w"], [1500.0, np.nan, 2000.0])
    np.testing.assert_allclose(df["temp_c"], [0.0, 100.0, 10.0])
    assert df.attrs["units"] == {"power_w": "W", "temp_c": "degC"}


def test_load_semicolon_original_uci_format(tmp_path):
    text = ("Date;Time;Global_active_power;Global_reactive_power;Voltage;Global_intensity;"
            "Sub_metering_1;Sub_metering_2;Sub_metering_3\n"
            "16/12/2006;17:24:00;4.216;0.418;234.840;18.400;0.000;1.000;17.000\n"
            "16/12/2006;17:25:00;?;?;?;?;?;?;\n"
            "16/12/2006;17:26:00;5.374;0.498;233.290;23.000;0.000;2.000;17.000\n")
    df = load_uci_household(_write(tmp_path / "household_power_consumption.txt", text))
    assert df["mains_power_w"].tolist()[0] == pytest.approx(4216.0)
    assert np.isnan(df["mains_power_w"].iloc[1]) and np.isnan(df["water_heater_power_w"].iloc[1])
    assert df["water_heater_power_w"].iloc[2] == pytest.approx(1020.0)


def test_load_dataframe_and_parquet(tmp_path):
    idx = pd.date_range("2024-06-01", periods=4, freq="h", tz="Europe/Berlin")
    frame = pd.DataFrame({"x_w": [1.0, 2.0, np.nan, 4.0]}, index=idx)
    df = load_trace(frame)
    assert df.index[0] == pd.Timestamp("2024-05-31 22:00", tz="UTC")
    frame.reset_index(names="timestamp").to_parquet(tmp_path / "t.parquet")
    df2 = load_trace(tmp_path / "t.parquet", max_gap="1h")
    assert df2["x_w"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_aware_timestamps_and_sort(tmp_path):
    text = "ts,v\n2024-01-01T01:00:00+01:00,2\n2024-01-01T00:00:00+01:00,1\n"
    path = _write(tmp_path / "aware.csv", text)
    with pytest.raises(TraceError, match=r"aware\.csv.*'ts'.*not monotonic.*sort=True"):
        load_trace(path, time_col="ts")
    df = load_trace(path, time_col="ts", sort=True)
    assert df.index[0] == pd.Timestamp("2023-12-31 23:00", tz="UTC") and df["v"].tolist() == [1, 2]


def test_resample_puts_missing_periods_as_nan(tmp_path):
    text = "time,v\n2024-01-01 00:00,1\n2024-01-01 00:30,3\n2024-01-01 02:10,5\n"
    df = load_trace(_write(tmp_path / "irr.csv", text), resample="1h")
    assert len(df) == 3 and df["v"].iloc[0] == 2.0 and df["v"].iloc[2] == 5.0
    assert np.isnan(df["v"].iloc[1])
    gaps = find_gaps(df, "1h")
    assert gaps.to_dict("records") == [{
        "start": pd.Timestamp("2024-01-01 01:00", tz="UTC"),
        "end": pd.Timestamp("2024-01-01 02:00", tz="UTC"), "n_missing": 1}]


def test_find_gaps_counts_absent_rows(tmp_path):
    idx = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 00:01", "2024-01-01 00:05"], tz="UTC")
    gaps = find_gaps(pd.DataFrame({"v": [1.0, 2.0, 3.0]}, index=idx), "1min")
    assert gaps["n_missing"].tolist() == [3]
    assert find_gaps(pd.DataFrame({"v": [1.0, 2.0]}, index=idx[:2]), "1min").empty


def test_units_table_converts_to_si():
    assert UNITS["Wh/min"].scale == 60.0 and UNITS["Wh/min"].si == "W"
    assert UNITS["MW"].scale == 1e6
    assert UNITS["K"].scale * 273.15 + UNITS["K"].offset == pytest.approx(0.0)
    assert UNITS["degF"].scale * 212 + UNITS["degF"].offset == pytest.approx(100.0)


# ---------------------------------------------------------------------------------------
# every error: TraceError naming the file and the column


def test_error_missing_time_column(tmp_path):
    path = _write(tmp_path / "notime.csv", "when,p\n2024-01-01,1\n")
    with pytest.raises(TraceError, match=r"notime\.csv.*no time column.*\['when', 'p'\]"):
        load_trace(path)
    msg = r"notime\.csv.*time column 'stamp' not found.*\['when', 'p'\]"
    with pytest.raises(TraceError, match=msg):
        load_trace(path, time_col="stamp")


def test_error_day_and_month_that_the_file_cannot_tell_apart(tmp_path):
    # 1-12 December 2008, day first: read month first, every day would land in another month
    rows = "".join(f"{d:02d}/12/2008 00:00,{d}\n" for d in range(1, 13))
    path = _write(tmp_path / "ambiguous.csv", "time,p\n" + rows)
    msg = r"ambiguous\.csv.*'time'.*day and month cannot be told apart.*date_format"
    with pytest.raises(TraceError, match=msg):
        load_trace(path)
    df = load_trace(path, date_format="%d/%m/%Y %H:%M")
    assert df.index[0] == pd.Timestamp("2008-12-01", tz="UTC")
    assert df.index[-1] == pd.Timestamp("2008-12-12", tz="UTC")
    # a stamp past the 12th decides: read as the first stamp suggests, or an error naming it
    month_first = "".join(f"12/{d:02d}/2008 00:00,{d}\n" for d in range(1, 14))
    df = load_trace(_write(tmp_path / "month_first.csv", "time,p\n" + month_first))
    assert df.index[-1] == pd.Timestamp("2008-12-13", tz="UTC")
    with pytest.raises(TraceError, match=r"cannot parse timestamp '13/12/2008 00:00'.*date_format"):
        load_trace(_write(tmp_path / "day_first.csv", "time,p\n" + rows + "13/12/2008 00:00,13\n"))
    # ISO dates are never in doubt
    iso = "".join(f"2008-12-{d:02d} 00:00,{d}\n" for d in range(1, 13))
    assert load_trace(_write(tmp_path / "iso.csv", "time,p\n" + iso)).index[-1] == pd.Timestamp("2008-12-12", tz="UTC")


def test_date_and_time_columns_are_found_together_and_a_bad_format_is_named(tmp_path):
    path = _write(tmp_path / "two.csv", "Date,Time,p\n2024-01-01,00:00:00,1\n2024-01-01,00:01:00,2\n")
    df = load_trace(path)  # 'Time' alone is only the clock: the pair is the timestamp
    assert list(df.columns) == ["p"] and df.index[1] == pd.Timestamp("2024-01-01 00:01", tz="UTC")
    with pytest.raises(TraceError, match=r"two\.csv.*date_format '%Q %Z'.*--date-format.*not a strftime format"):
        load_trace(path, date_format="%Q %Z")


def test_error_unknown_time_zone(tmp_path):
    path = _write(tmp_path / "naive.csv", "time,p\n2024-01-01 00:00,1\n2024-01-01 00:01,2\n")
    with pytest.raises(TraceError, match=r"naive\.csv.*IANA time zone.*'Mars/Olympus'"):
        load_trace(path, tz="Mars/Olympus")


def test_error_unparseable_timestamp(tmp_path):
    text = "time,p\n2024-01-01 00:00,1\n2024-01-01 00:01,2\nyesterday,3\n"
    path = _write(tmp_path / "badtime.csv", text)
    with pytest.raises(TraceError, match=r"badtime\.csv.*'time'.*'yesterday'.*row 2"):
        load_trace(path)
    path = _write(tmp_path / "dayfirst.csv", "time,p\n31/01/2024 00:00,1\n")
    with pytest.raises(TraceError, match=r"dayfirst\.csv.*'31/01/2024 00:00'.*date_format"):
        load_trace(path, date_format="%m/%d/%Y %H:%M")


@pytest.mark.parametrize("text", ["", "time,p\n"], ids=["zero-bytes", "header-only"])
def test_error_empty_file(tmp_path, text):
    path = _write(tmp_path / "empty.csv", text)
    with pytest.raises(TraceError, match=r"empty\.csv.*empty file"):
        load_trace(path)


def test_error_all_nan_channel(tmp_path):
    text = "time,p,q\n2024-01-01 00:00,1,?\n2024-01-01 00:01,2,NA\n"
    path = _write(tmp_path / "allnan.csv", text)
    with pytest.raises(TraceError, match=r"allnan\.csv.*column 'q'.*all NaN"):
        load_trace(path)


def test_error_unknown_unit(tmp_path):
    path = _write(tmp_path / "unit.csv", GOOD)
    msg = r"unit\.csv.*column 'p_kw'.*unknown unit 'kWatt'.*'kW'.*'Wh/min'"
    with pytest.raises(TraceError, match=msg):
        load_trace(path, units={"p_kw": "kWatt"})


def test_error_non_monotonic_time(tmp_path):
    text = "time,p\n2024-01-01 00:00,1\n2024-01-01 00:02,2\n2024-01-01 00:01,3\n"
    path = _write(tmp_path / "order.csv", text)
    with pytest.raises(TraceError, match=r"order\.csv.*'time'.*not monotonic.*row 2"):
        load_trace(path)
    assert load_trace(path, sort=True)["p"].tolist() == [1.0, 3.0, 2.0]


def test_error_duplicate_timestamps(tmp_path):
    text = "time,p\n2024-01-01 00:00,1\n2024-01-01 00:01,2\n2024-01-01 00:01,4\n"
    path = _write(tmp_path / "dups.csv", text)
    with pytest.raises(TraceError, match=r"dups\.csv.*'time'.*1 duplicate.*duplicates='mean'"):
        load_trace(path)
    with pytest.warns(TraceWarning, match="1 duplicate"):
        df = load_trace(path, duplicates="mean")
    assert df["p"].tolist() == [1.0, 3.0]


def test_error_unknown_and_non_numeric_columns(tmp_path):
    path = _write(tmp_path / "cols.csv", "time,p\n2024-01-01 00:00,1\n2024-01-01 00:01,x1\n")
    with pytest.raises(TraceError, match=r"cols\.csv.*column 'power' not found.*\['time', 'p'\]"):
        load_trace(path, columns={"power": "power_w"})
    with pytest.raises(TraceError, match=r"cols\.csv.*column 'p'.*non-numeric value 'x1'"):
        load_trace(path)
    with pytest.raises(TraceError, match=r"missing\.csv.*not found"):
        load_trace(tmp_path / "missing.csv")


def test_error_dst_ambiguous_without_order(tmp_path):
    # a single 02:30 on the fall-back night in Paris cannot be inferred
    text = "time,p\n2024-10-27 01:30,1\n2024-10-27 02:30,2\n2024-10-27 03:30,3\n"
    path = _write(tmp_path / "fall.csv", text)
    with pytest.raises(TraceError, match=r"fall\.csv.*'time'.*Europe/Paris.*ambiguous='NaT'"):
        load_trace(path, tz="Europe/Paris")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = load_trace(path, tz="Europe/Paris", ambiguous="NaT")
    assert len(df) == 2 and any(issubclass(w.category, TraceWarning) for w in caught)


def test_trace_error_is_value_error():
    assert issubclass(TraceError, ValueError)


def test_in_order_subhourly_fall_back_hour_is_inferred():
    """A logger in local time repeats 02:00-02:45 on the fall-back night; order resolves it."""
    t = pd.date_range("2024-10-27 00:00", "2024-10-27 04:00", freq="15min", tz="Europe/Paris")
    naive = t.tz_localize(None).strftime("%Y-%m-%d %H:%M")
    frame = pd.DataFrame({"time": naive, "v": np.arange(len(t), dtype=float)})
    assert pd.Index(naive).duplicated().sum() == 4
    df = load_trace(frame, tz="Europe/Paris")
    assert len(df) == len(t) == 21 and df.index.is_unique
    np.testing.assert_array_equal(df.index, t.tz_convert("UTC"))
