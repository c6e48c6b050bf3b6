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
    ops = dict(re.findall(r"(\w+): forward\+backward .* aten ops/step (\d+)", out))
    # 0.36x at this size (one cell per stage: the stem, reductions and head weigh more); 0.29x at paper size
    assert int(ops["fast"]) < 0.4 * int(ops["reference"])
