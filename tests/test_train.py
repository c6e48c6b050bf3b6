"""Retraining from scratch: recipe pieces against hand computations, resume after SIGKILL, data folders."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from balenas.checkpoints import read_checkpoint
from balenas.data import DataConfig, ImageSet
from balenas.spaces.darts import PUBLISHED, format_genotype
from balenas.supernets.darts_network import EvalNetworkConfig
from balenas.train import (
    DivergenceError,
    TrainConfig,
    drop_path_at,
    scaled_lr,
    topk_correct,
    train,
    train_metrics,
    training_loss,
    write_outputs,
)
from tests.conftest import damage_file
from balenas.train_data import (
    FolderConfig,
    FolderTrainData,
    MemoryTrainData,
    check_image_folder,
    cutout,
    cutout_box,
)

REPO = Path(__file__).resolve().parents[1]
DARTS_V2 = PUBLISHED.get("DARTS_V2").genotype
TINY_NET = EvalNetworkConfig(C=4, layers=3, auxiliary=True, drop_path_prob=0.2)


def tiny_cfg(**kw: object) -> TrainConfig:
    base = dict(run="tiny", seed=0, epochs=2, batch_size=16, lr=0.05, cutout=2, eval_batch_size=32, log_every=2,
                network=TINY_NET)
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ hand computations


def test_drop_path_ramp_is_linear_from_zero() -> None:
    assert [drop_path_at(e, 4, 0.2) for e in range(4)] == pytest.approx([0.0, 0.05, 0.1, 0.15])
    assert drop_path_at(599, 600, 0.2) == pytest.approx(0.2 * 599 / 600)


def test_cutout_box_clips_at_the_border() -> None:
    assert cutout_box(8, 8, 0, 0, 4) == (0, 2, 0, 2)  # 2x2 left of the corner
    assert cutout_box(8, 8, 4, 4, 4) == (2, 6, 2, 6)  # the full 4x4
    assert cutout_box(8, 8, 7, 7, 4) == (5, 8, 5, 8)  # 3x3 at the far corner
    assert cutout_box(32, 32, 16, 16, 16) == (8, 24, 8, 24)  # CIFAR: 16x16 = 256 pixels


def test_cutout_zeroes_the_hand_computed_square() -> None:
    x = torch.ones(5, 3, 8, 8)
    out = cutout(x, 4, torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)  # the same draws, by hand
    cy = torch.randint(0, 8, (5,), generator=g).tolist()
    cx = torch.randint(0, 8, (5,), generator=g).tolist()
    for i in range(5):
        expected = np.ones((8, 8))
        expected[max(0, cy[i] - 2) : min(8, cy[i] + 2), max(0, cx[i] - 2) : min(8, cx[i] + 2)] = 0
        for c in range(3):
            assert np.array_equal(out[i, c].numpy(), expected)
    assert torch.equal(cutout(x, 0, torch.Generator()), x)


def _hand_ce(logits: np.ndarray, y: np.ndarray, eps: float) -> float:
    k = logits.shape[1]
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    target = np.full_like(logits, eps / k)
    target[np.arange(len(y)), y] += 1 - eps
    return float(-(target * logp).sum(1).mean())


def test_auxiliary_weight_and_label_smoothing_match_hand_computation() -> None:
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    aux = np.array([[0.0, 1.0, 0.0], [1.5, -0.5, 0.5]])
    y = np.array([0, 1])
    t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    got = training_loss(t(logits), t(aux), torch.tensor(y), 0.0, 0.4)
    assert float(got) == pytest.approx(_hand_ce(logits, y, 0) + 0.4 * _hand_ce(aux, y, 0), rel=1e-12)
    got_ls = training_loss(t(logits), t(aux), torch.tensor(y), 0.1, 0.4)
    assert float(got_ls) == pytest.approx(_hand_ce(logits, y, 0.1) + 0.4 * _hand_ce(aux, y, 0.1), rel=1e-12)
    # label smoothing by hand for row 0: -(0.9333 log p0 + 0.0333 log p1 + 0.0333 log p2)
    p = np.exp(logits[0]) / np.exp(logits[0]).sum()
    row0 = -((0.9 + 0.1 / 3) * np.log(p[0]) + 0.1 / 3 * np.log(p[1]) + 0.1 / 3 * np.log(p[2]))
    assert _hand_ce(logits[:1], y[:1], 0.1) == pytest.approx(row0)
    assert float(training_loss(t(logits), None, torch.tensor(y), 0.0, 0.4)) == pytest.approx(_hand_ce(logits, y, 0))


def test_linear_lr_scaling_and_topk() -> None:
    assert scaled_lr(0.1, 512, 128) == pytest.approx(0.4)
    assert scaled_lr(0.025, 48, 96) == pytest.approx(0.0125)
    assert scaled_lr(0.1, 512, None) == 0.1
    logits = torch.tensor([[0.0, 1, 2, 3, 4, 5, 6], [6.0, 5, 4, 3, 2, 1, 0]])
    assert topk_correct(logits, torch.tensor([6, 2])) == [1, 2]  # row 0 top-1; row 1 label ranks 3rd
    assert topk_correct(logits[:, :3], torch.tensor([2, 2])) == [1, 2]  # k clipped to the 3 classes


# ------------------------------------------------------------------------------------ in-memory training


def _digits(n: int = 96) -> tuple[ImageSet, ImageSet]:
    """Digits-shaped synthetic images (1x8x8, 10 classes; the class shifts the mean): no sklearn import."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.randn(n, 1, 8, 8, generator=g) + y.view(-1, 1, 1, 1) / 5.0
    data = ImageSet(x, y, 10, {"source": "synthetic"})
    half = 2 * n // 3
    return data.subset(torch.arange(half)), data.subset(torch.arange(half, n))


def _memory(cfg: TrainConfig, train_set: ImageSet, test_set: ImageSet) -> MemoryTrainData:
    aug = DataConfig(name="digits", source="digits", crop_padding=1)
    return MemoryTrainData(train_set, test_set, aug, cfg.cutout, cfg.batch_size, cfg.seed, cfg.eval_batch_size)


def test_training_records_ramp_metrics_and_outputs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = tiny_cfg(epochs=3)
    tr, te = _digits()
    data = _memory(cfg, tr, te)
    with caplog.at_level("INFO", logger="balenas.train"):
        result = train(cfg, DARTS_V2, format_genotype(DARTS_V2), data, torch.device("cpu"), tmp_path / "ckpt.pt")
    # progress inside each epoch every log_every=2 steps (4 steps per epoch): steps 2 and 4 of each epoch
    progress = [r.getMessage() for r in caplog.records if "img/s" in r.getMessage()]
    assert len(progress) == 6 and all("ETA epoch" in m and "loss" in m for m in progress)
    assert "epoch 2/3 step 2/4" in progress[2]
    h = result.history
    assert h["drop_path_prob"].tolist() == pytest.approx([0.0, 0.2 / 3, 0.4 / 3])
    assert h["lr"].iloc[0] == pytest.approx(0.05) and h["lr"].iloc[2] < h["lr"].iloc[1]  # cosine
    assert {"test_top1", "test_top5", "train_loss"} <= set(h.columns)
    metrics = train_metrics(cfg, result, format_genotype(DARTS_V2), data, torch.device("cpu"), result_ctx())
    paths = write_outputs(tmp_path / "out", result, metrics)
    blob = json.loads(paths["metrics.json"].read_text())
    assert blob["seed"] == 0 and blob["epochs_done"] == 3 and blob["environment"]["device"] == "cpu"
    assert blob["config"]["network"]["C"] == 4 and 0 <= blob["test_top1"] <= blob["test_top5"] <= 100


def result_ctx():  # noqa: ANN201
    from balenas.train import DistContext

    return DistContext()


def test_divergence_names_run_epoch_and_step() -> None:
    cfg = tiny_cfg(run="retrain/x/seed-3")
    tr, te = _digits()
    bad = ImageSet(torch.full_like(tr.x, float("nan")), tr.y, tr.num_classes)
    with pytest.raises(DivergenceError, match=r"retrain/x/seed-3: non-finite training loss nan at epoch 1, step 1"):
        train(cfg, DARTS_V2, "g", _memory(cfg, bad, te), torch.device("cpu"))


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    torch.set_num_threads(1)
    sys.path[:0] = [{tests!r}, {repo!r}]
    from test_train import DARTS_V2, _digits, _memory, tiny_cfg
    from balenas.train import train
    kill = os.environ.get("KILL_AT")
    def on_step(epoch, step):
        if kill == f"{{epoch}}:{{step}}":
            os.kill(os.getpid(), signal.SIGKILL)
    cfg = tiny_cfg(epochs=3)
    tr, te = _digits()
    res = train(cfg, DARTS_V2, "DARTS_V2", _memory(cfg, tr, te), torch.device("cpu"), checkpoint=__import__("pathlib").Path(sys.argv[1]), on_step=on_step)
    torch.save({{"state": res.network.state_dict(), "resumed": res.resumed_from_epoch}}, sys.argv[2])
    """
)


def _child(script: Path, ckpt: Path, out: Path, kill: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    env.pop("KILL_AT", None)
    if kill:
        env["KILL_AT"] = kill
    return subprocess.run([sys.executable, str(script), str(ckpt), str(out)], env=env, capture_output=True, text=True,
                          timeout=300)


def test_sigkill_mid_epoch_then_rerun_gives_bit_identical_weights(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(REPO / "tests"), repo=str(REPO)))
    killed = _child(script, tmp_path / "run.ckpt", tmp_path / "run.pt", "1:1")  # epoch 2, step 2 of 3 epochs
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "run.pt").exists()
    assert read_checkpoint(tmp_path / "run.ckpt")["epochs_done"] == 1
    again = _child(script, tmp_path / "run.ckpt", tmp_path / "run.pt", None)
    assert again.returncode == 0, again.stderr
    b = torch.load(tmp_path / "run.pt")
    assert b["resumed"] == 1
    # the uninterrupted reference, in this process (one torch thread, as in the child)
    cfg = tiny_cfg(epochs=3)
    tr, te = _digits()
    ref = train(cfg, DARTS_V2, "DARTS_V2", _memory(cfg, tr, te), torch.device("cpu")).network.state_dict()
    assert ref.keys() == b["state"].keys()
    for key in ref:
        assert torch.equal(ref[key], b["state"][key]), key
    # and the run really did learn (the weights moved away from the seed's initialisation)
    from balenas.train import DistContext, build_state

    init = build_state(cfg, DARTS_V2, 10, 1, torch.device("cpu"), DistContext()).network.state_dict()
    assert not torch.equal(init["classifier.weight"], ref["classifier.weight"])


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_retrain_checkpoint_is_ignored_with_a_warning(tmp_path: Path, caplog, damage) -> None:
    from balenas.train import DistContext, _try_resume, build_state, fingerprint

    cfg = tiny_cfg(epochs=1)
    tr, te = _digits()
    ckpt = tmp_path / "run.ckpt"
    train(cfg, DARTS_V2, "DARTS_V2", _memory(cfg, tr, te), torch.device("cpu"), checkpoint=ckpt)
    assert read_checkpoint(ckpt)["epochs_done"] == 1  # intact, it would be read
    damage_file(ckpt, damage)
    state = build_state(cfg, DARTS_V2, 10, 1, torch.device("cpu"), DistContext())
    assert _try_resume(state, ckpt, fingerprint(cfg, "DARTS_V2", {}, 1)) == 0
    assert "starting from scratch" in caplog.text and "another configuration" not in caplog.text


# ------------------------------------------------------------------------------------ ImageNet folders


def _write_folder(root: Path, classes: int = 3, train_n: int = 4, val_n: int = 2, size: int = 40) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", train_n), ("val", val_n)):
        for c in range(classes):
            d = root / split / f"n{c:08d}"
            d.mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 255, (size, size + 8, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(d / f"n{c:08d}_{i}.JPEG")
    return root


def test_bad_imagenet_folder_fails_before_training_naming_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"ImageNet folder .*nowhere: does not exist"):
        check_image_folder(tmp_path / "nowhere")
    root = _write_folder(tmp_path / "a")
    import shutil

    shutil.rmtree(root / "val")
    with pytest.raises(FileNotFoundError, match=r"ImageNet folder .*a: missing the val/ folder"):
        FolderTrainData(FolderConfig(str(root), crop=16, eval_resize=20, workers=0), 4, 0)
    root = _write_folder(tmp_path / "b")
    for f in (root / "val" / "n00000001").iterdir():
        f.unlink()
    with pytest.raises(FileNotFoundError, match=r"class folder\(s\) of val/ hold no images.*n00000001"):
        check_image_folder(root)
    root = _write_folder(tmp_path / "c")
    shutil.rmtree(root / "val" / "n00000002")
    with pytest.raises(FileNotFoundError, match=r"missing in val/: \['n00000002'\]"):
        check_image_folder(root)
    root = _write_folder(tmp_path / "d")
    for d in (root / "val").iterdir():  # the official flat val/ layout
        for f in d.iterdir():
            f.rename(root / "val" / f.name)
        d.rmdir()
    with pytest.raises(FileNotFoundError, match=r"val/ has no class folders.*6 images lie directly in it"):
        check_image_folder(root)


def test_tiny_imagenet_folder_drives_the_imagenet_path(tmp_path: Path) -> None:
    root = _write_folder(tmp_path / "imagenet")
    assert check_image_folder(root) == {"classes": 3, "n_train": 12, "n_val": 6}
    net = EvalNetworkConfig(C=8, layers=3, auxiliary=True, drop_path_prob=0.0, stem="imagenet")
    cfg = tiny_cfg(run="imagenet-tiny", epochs=2, batch_size=4, lr=0.1, lr_batch_size=8, schedule="step",
                   label_smoothing=0.1, cutout=0, network=net)
    data = FolderTrainData(FolderConfig(str(root), crop=32, eval_resize=36, workers=1), cfg.batch_size, cfg.seed,
                           eval_batch_size=4)
    assert data.num_classes == 3 and data.steps_per_epoch() == 3
    x, y = next(iter(data.train_batches(0)))
    assert x.shape == (4, 3, 32, 32) and y.dtype == torch.int64
    result = train(cfg, DARTS_V2, "DARTS_V2", data, torch.device("cpu"))
    h = result.history
    assert h["lr"].tolist() == pytest.approx([0.05, 0.05 * 0.97])  # linear scaling 0.1 * 4 / 8, then StepLR
    assert math.isfinite(h["train_loss"].iloc[-1]) and 0 <= h["test_top1"].iloc[-1] <= h["test_top5"].iloc[-1]
    # the same seed gives the same first batch (workers seeded from the per-epoch stream)
    x2, _ = next(iter(data.train_batches(0)))
    assert torch.equal(x, x2)


DDP_CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import torch
    torch.set_num_threads(1)
    sys.path[:0] = [{tests!r}, {repo!r}]
    from test_train import DARTS_V2, _digits, tiny_cfg
    from balenas.data import DataConfig
    from balenas.train import init_distributed, train
    from balenas.train_data import MemoryTrainData
    ctx, dev = init_distributed("cpu")
    cfg = tiny_cfg(epochs=2)
    tr, te = _digits()
    data = MemoryTrainData(tr, te, DataConfig(name="d", source="digits", crop_padding=1), cfg.cutout, cfg.batch_size,
                           cfg.seed, cfg.eval_batch_size, ctx.rank, ctx.world)
    res = train(cfg, DARTS_V2, "DARTS_V2", data, dev, Path(sys.argv[1]), ctx)
    w = res.network.classifier.weight.detach()
    Path(sys.argv[2] + f".{{ctx.rank}}").write_text(json.dumps({{"world": ctx.world,
        "history": res.history.to_dict("records"), "w": w.flatten().tolist()}}))
    """
)


def test_data_parallel_path_on_cpu_with_two_ranks(tmp_path: Path) -> None:
    # torchrun with 2 CPU ranks (gloo): the same weights on both ranks (gradients averaged), metrics summed
    # over ranks (test_n is the whole test set), one checkpoint written by rank 0.
    script = tmp_path / "ddp.py"
    script.write_text(DDP_CHILD.format(tests=str(REPO / "tests"), repo=str(REPO)))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script),
         str(tmp_path / "ckpt.pt"), str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"out.{r}").read_text()) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert r0["w"] == r1["w"]
    untimed = [[{k: v for k, v in row.items() if k != "epoch_seconds"} for row in r["history"]] for r in (r0, r1)]
    assert r0["history"][-1]["test_n"] == 32 and untimed[0] == untimed[1]
    assert read_checkpoint(tmp_path / "ckpt.pt")["epochs_done"] == 2


def test_bf16_autocast_option_runs_and_changes_the_numbers() -> None:
    tr, te = _digits()
    out = {}
    for bf16 in (False, True):
        cfg = tiny_cfg(epochs=1, bf16=bf16)
        out[bf16] = train(cfg, DARTS_V2, "g", _memory(cfg, tr, te), torch.device("cpu")).history.iloc[0]
    assert math.isfinite(out[True]["train_loss"])
    assert out[True]["train_loss"] != out[False]["train_loss"]  # really ran in bfloat16


def test_memory_batches_split_a_global_batch_over_ranks() -> None:
    tr, te = _digits(n=99)  # 66 train examples: batches 16,16,16,16,2
    aug = DataConfig(name="d", source="digits", augment=False)
    full = MemoryTrainData(tr, te, aug, 0, 16, 0)
    shares = [MemoryTrainData(tr, te, aug, 0, 16, 0, rank=r, world=3) for r in range(3)]
    assert full.steps_per_epoch() == 5 and all(s.steps_per_epoch() == 4 for s in shares)  # 2 < 3 ranks: dropped
    whole = [y for _, y in full.train_batches(0)]
    parts = [[y for _, y in s.train_batches(0)] for s in shares]
    assert [len(p) for p in parts] == [4, 4, 4]
    for step in range(4):  # the ranks' shares are exactly the global batch
        merged = torch.cat([parts[r][step] for r in range(3)]).sort().values
        assert torch.equal(merged, whole[step].sort().values)
