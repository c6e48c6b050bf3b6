import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_epoch_tiny_runs_and_fast_supernet_trains_like_plain(tmp_path):
    out = tmp_path / "epoch.json"
    cmd = [sys.executable, str(REPO / "bench" / "gpu_epoch.py"), "--tiny", "--methods", "darts",
           "--options", "plain", "fast", "fast_bf16", "--out", str(out)]
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, timeout=300)
    rows = {r["option"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"plain", "fast", "fast_bf16"}
    for r in rows.values():
        assert r["step_s"] > 0 and r["search_s"] == r["step_s"] * 390 * 50
    # same seeds and data: the fast supernet's search agrees with the plain one to float32 rounding
    assert abs(rows["plain"]["train_loss"] - rows["fast"]["train_loss"]) < 1e-4


def _load_gpu_epoch(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import gpu_epoch

    return gpu_epoch


def test_a_failing_option_is_reported_and_the_others_still_run(tmp_path, monkeypatch):
    """On a GPU lent for minutes the script runs once: one option's error (a compiler missing there) must
    leave a row naming it and the other options' numbers, not a traceback and nothing."""
    gpu_epoch = _load_gpu_epoch(monkeypatch)
    real_build = gpu_epoch.build_state

    def build(cfg, *args, **kwargs):
        if cfg.speed.supernet == "fast":
            raise RuntimeError("no compiler here\nsecond line")
        return real_build(cfg, *args, **kwargs)

    monkeypatch.setattr(gpu_epoch, "build_state", build)
    out = tmp_path / "epoch.json"
    monkeypatch.setattr(sys, "argv", ["gpu_epoch.py", "--tiny", "--methods", "darts", "--options", "plain", "fast",
                                      "--out", str(out)])
    gpu_epoch.main()
    rows = {r["option"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["fast"] == {"method": "darts", "option": "fast", "error": "RuntimeError: no compiler here"}
    assert rows["plain"]["step_s"] > 0 and rows["plain"]["rounds"] == 1


def test_a_spent_budget_runs_nothing_more_and_says_so(tmp_path, monkeypatch):
    gpu_epoch = _load_gpu_epoch(monkeypatch)
    out = tmp_path / "epoch.json"
    monkeypatch.setattr(sys, "argv", ["gpu_epoch.py", "--tiny", "--methods", "darts", "--options", "plain",
                                      "--budget-s", "0", "--out", str(out)])
    gpu_epoch.main()
    (row,) = json.loads(out.read_text())["rows"]
    assert row["error"] == "not run: --budget-s 0 spent before its warm-up"
