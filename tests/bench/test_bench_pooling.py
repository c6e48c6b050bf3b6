import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_pooling_tiny_reports_the_same_bits_and_ratios():
    cmd = [sys.executable, str(REPO / "bench" / "bench_pooling.py"), "--repeats", "1", "--steps", "1",
           "--channels", "2", "--batch", "8"]
    out = subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, text=True, timeout=300).stdout
    rows = re.findall(r"^\s+\(64, \d+, \d+, \d+\) .* (True|False)$", out, re.M)
    assert rows == ["True"] * 4, out
    epoch = re.search(r"ratio (\S+); same architecture parameters and losses after every epoch: (\w+)", out)
    assert epoch is not None and float(epoch[1]) > 0 and epoch[2] == "True", out
