"""The real and the synthetic frames are checked alike (time, columns), each in its own words."""

import numpy as np
import pandas as pd
import pytest

from twinforge.fidelity.prepared import CompareError, real_runs, synthetic_frame

TIME = pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC")


@pytest.mark.parametrize(("read", "df", "message"), [
    (real_runs, pd.DataFrame({"p": np.arange(4.0)}),
     "real trace needs a DatetimeIndex (load it with twinforge.fidelity.load_trace)"),
    (real_runs, pd.DataFrame({"time": TIME, "q": np.arange(4.0)}),
     "real column 'p' not in the real trace; its columns are ['q']"),
    (real_runs, pd.DataFrame({"time": TIME, "run_id": [0, 0, 1, 1], "q": np.arange(4.0)}),
     "real run_id 0: real column 'p' not in the real trace; its columns are ['q']"),
    (synthetic_frame, pd.DataFrame({"p": np.arange(4.0)}),
     "synthetic DataFrame needs a 'time' column or a DatetimeIndex"),
    (synthetic_frame, pd.DataFrame({"time": TIME, "run_id": 0, "q": np.arange(4.0)}),
     "synthetic channel 'p' not in the synthetic data; its channels are ['q']"),
])
def test_a_frame_without_time_or_a_column_is_refused_in_its_own_words(read, df, message):
    with pytest.raises(CompareError) as e:
        read(df, ["p"])
    assert str(e.value) == message


@pytest.mark.parametrize("read", [real_runs, synthetic_frame])
def test_a_time_column_or_a_datetime_index_serves_alike(read):
    by_column = read(pd.DataFrame({"time": TIME, "p": np.arange(4.0)}), ["p"])
    by_index = read(pd.DataFrame({"p": np.arange(4.0)}, index=TIME), ["p"])
    if read is real_runs:
        by_column, by_index = by_column[0], by_index[0]
    pd.testing.assert_frame_equal(by_column, by_index, check_freq=False)
    assert by_column.index.name == "time" and str(by_column.index.tz) == "UTC"
