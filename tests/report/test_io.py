"""Shared report writers: mean ± std cells and the CSV / Markdown / LaTeX table writer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from balenas.report.io import mean_std


def test_mean_std_uses_the_sample_std_and_says_n_a_for_one_value():
    assert mean_std(pd.Series([1.0, 2.0, np.nan])) == "1.50 ± 0.71"  # ddof=1, NaN left out
    assert mean_std(pd.Series([91.6123])) == "91.61 ± n/a"  # as Tables 1 and 2 print one seed
    assert mean_std(pd.Series([2.0, np.nan]), digits=3) == "2.000 ± n/a"
    assert mean_std(pd.Series([np.nan])) == "n/a"
    assert mean_std(pd.Series([], dtype=float)) == "n/a"
