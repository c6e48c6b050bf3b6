import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("xautodl", reason="bench_supernet compares with xautodl (pip install xautodl==1.0.0 --no-deps)")

REPO = Path(__file__).resolve().parents[2]


def test_bench_supernet_tiny_matches_the_reference_and_counts_fewer_ops():
    cmd = [sys.executable, str(REPO / "bench" / "bench_supernet.py"), "--channels", "4", "--cells", "1",
           "--batch", "4", "--size", "8", "--repeats", "1"]
    out = subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, text=True, timeout=300).stdout
    diffs = {m[0]: [float(v) for v in m[1:]] for m in re.findall(
        r"(\w+) vs reference: max \|logit diff\| (\S+)  max \|weight grad diff\| (\S+)  max \|arch grad diff\| (\S+)",
        out)}
    assert diffs["plain"] == [0.0, 0.0, 0.0]  # same arithmetic as the reference once its biases are zero
    assert max(diffs["fast"]) <= 1e-5
    # in float64 the fast supernet is the reference's computation up to float64 rounding
    f64 = {m[0]: [float(v) for v in m[1:]] for m in re.findall(
        r"(\w+) vs reference, both float64: max \|logit diff\| (\S+)  max \|weight grad diff\| (\S+)  "
        r"max \|arch grad diff\| (\S+)", out)}
    assert f64["plain"] == [0.0, 0.0, 0.0] and max(f64["fast"]) <= 1e-12
    ops = {m[0]: (int(m[1]), int(m[2])) for m in re.findall(
        r"(\w+): forward\+backward .* aten ops/step (\d+) \(not views: (\d+)\)", out)}
    # at this size (one cell per stage: the stem, reductions and head weigh more) 0.40x of all aten ops and
    # 0.31x of those that are not views; 0.34x and 0.27x at paper size
    assert ops["fast"][0] < 0.42 * ops["reference"][0]
    assert ops["fast"][1] < 0.33 * ops["reference"][1]
    assert all(0 < computing < total for total, computing in ops.values())
