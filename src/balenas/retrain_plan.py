"""What the retrain / transfer rules run, from the ``retrain:`` block of the config (pure, testable).

```yaml
retrain:
  seeds: [0, 1, 2]            # retraining seeds per cell
  published: [DARTS_V2]       # published genotypes retrained with the `dataset` recipe (retrain_published)
  searched: true              # retrain every DARTS-space search run of the experiment sheet (and BaLeNAS-TF
                              # picks); false: none; a list of cell ids: only those
  dataset: cifar10            # the recipe cells are retrained with
  transfer:
    cell: published-DARTS_V2  # the cell id transferred (the paper: its best CIFAR-10 cell); null: none
    datasets: [cifar100, imagenet]
  recipes:                    # one per dataset: data spec, GPUs per job, TrainConfig keys
    cifar10: {data: {kind: memory, train: cifar10, test: cifar10_test}, gpus: 1, train: {...}}
    imagenet: {data: {kind: folder, root: /data/imagenet, workers: 8}, gpus: 8, train: {...}}
```
``data.train`` / ``data.test`` name entries of the config's ``data:`` block; an ImageNet ``root: null``
means "not available here": its jobs are not planned and Table 3 says why.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from balenas.report.labels import method_label
from balenas.selection_paths import selected_file
from balenas.spaces.darts import PUBLISHED

DARTS_SPACE = "darts"
PUBLISHED_CELL = "published-{name}"
SEARCHED_CELL = "{method}-order-{order}-seed-{seed}"
ORDER_SUFFIX = {1: "1st", 2: "2nd"}


@dataclass(frozen=True)
class Cell:
    id: str  # the path component of its runs
    genotype: str  # "published:<NAME>" or the search run's genotype.json
    row: str  # Table 3 row key
    label: str
    search: Mapping[str, Any] | None = None  # the search run's wildcards


def _block(config: Mapping[str, Any]) -> Mapping[str, Any]:
    block = config.get("retrain")
    if not isinstance(block, Mapping):
        raise KeyError("config: a 'retrain' block is required (see config/README.md)")
    return block


def check_retrain_config(config: Mapping[str, Any]) -> None:
    """Fail at parse time, naming the key, for a retrain block that cannot be planned."""
    block = _block(config)
    recipes = block.get("recipes", {})
    for name in [block.get("dataset"), *block.get("transfer", {}).get("datasets", [])]:
        if name not in recipes:
            raise KeyError(f"retrain: dataset {name!r} has no entry in retrain.recipes ({sorted(recipes)})")
    for name in block.get("published", []):
        PUBLISHED.get(name)
    for name, recipe in recipes.items():
        data = recipe.get("data", {})
        for split in ("train", "test"):
            if split in data and data[split] not in config.get("data", {}):
                raise KeyError(f"retrain.recipes.{name}.data.{split}: {data[split]!r} is not an entry of data:")
        if int(recipe.get("gpus", 1)) < 1:
            raise ValueError(f"retrain.recipes.{name}.gpus must be >= 1")
    ids = [c.id for c in retrain_cells(config)]
    cell = block.get("transfer", {}).get("cell")
    if cell is not None and cell not in ids:
        raise KeyError(f"retrain.transfer.cell: {cell!r} is not a retrained cell; cells: {ids}")


def tf_choice(config: Mapping[str, Any]) -> tuple[str, int]:
    """(proxy, K) of the BaLeNAS-TF selection whose cell is retrained: ``retrain.tf`` or, by default, the
    first of ``selection.proxies`` (the paper's SynFlow) at the largest of ``selection.ks``."""
    sel = config.get("selection") or {}
    tf = dict(_block(config).get("tf") or {})
    proxies, ks = list(sel.get("proxies") or []), [int(k) for k in sel.get("ks") or []]
    return str(tf.get("proxy", proxies[0] if proxies else "synflow")), int(tf.get("k", max(ks) if ks else 100))


def retrain_cells(config: Mapping[str, Any], search_root: str = "results/search") -> list[Cell]:
    block = _block(config)
    cells = [
        Cell(PUBLISHED_CELL.format(name=n), f"published:{n}", f"published_{n}", f"{n} (published, retrained)")
        for n in block.get("published", [])
    ]
    searched = block.get("searched", True)
    if searched is False:
        return cells
    found = _searched_cells(config, search_root)
    if searched is True:
        return cells + found
    by_id = {c.id: c for c in found}
    unknown = [c for c in searched if c not in by_id]
    if unknown:
        raise KeyError(f"retrain.searched: {unknown} are not cells of this config's DARTS-space runs; "
                       f"cells: {sorted(by_id)}")
    return cells + [by_id[c] for c in searched]


def _searched_cells(config: Mapping[str, Any], search_root: str) -> list[Cell]:
    """Every DARTS-space search run's derived cell, then every BaLeNAS-TF pick (:func:`_tf_cells`)."""
    from balenas.experiments import experiments_of, search_runs

    cells = []
    for run in search_runs(experiments_of(config)):
        if run.space != DARTS_SPACE:
            continue
        suffix = ORDER_SUFFIX.get(int(run.order), f"order{run.order}")
        cells.append(Cell(
            SEARCHED_CELL.format(method=run.method, order=run.order, seed=run.seed),
            f"{search_root}/{run.path}/genotype.json", f"{run.method}_{suffix}",
            f"{method_label(run.method)} ({suffix})",
            {"space": run.space, "dataset": run.dataset, "method": run.method, "order": run.order,
             "seed": run.seed},
        ))
    return cells + _tf_cells(config, search_root)


def _tf_cells(config: Mapping[str, Any], search_root: str) -> list[Cell]:
    """BaLeNAS-TF cells: the selected.json of every BaLeNAS DARTS-space run whose sheet row runs selector tf
    (the paper's BaLeNAS-TF row of Table 3), with the proxy and K of :func:`tf_choice`."""
    from balenas.experiments import experiments_of, row_selectors

    proxy, k = tf_choice(config)
    results_root = str(PurePosixPath(search_root).parent)  # results/search -> results
    cells = []
    for e in experiments_of(config):
        if e.space != DARTS_SPACE or e.method != "balenas" or "tf" not in row_selectors(e, config):
            continue
        for run in e.runs():
            suffix = ORDER_SUFFIX.get(int(run.order), f"order{run.order}")
            cells.append(Cell(
                f"balenas_tf-{proxy}-k{k}-order-{run.order}-seed-{run.seed}",
                selected_file(results_root, run.path, "tf", proxy, k),
                "balenas_tf" if run.order == 1 else f"balenas_tf_{suffix}",
                "BaLeNAS-TF" if run.order == 1 else f"BaLeNAS-TF ({suffix})",
                {"space": run.space, "dataset": run.dataset, "method": run.method, "order": run.order,
                 "seed": run.seed},
            ))
    return cells


def unavailable(config: Mapping[str, Any], dataset: str) -> str | None:
    """Why ``dataset``'s jobs cannot run here (None: they can)."""
    recipe = _block(config)["recipes"][dataset]
    data = recipe.get("data", {})
    if data.get("kind") == "folder" and not data.get("root"):
        return f"no ImageNet folder given (retrain.recipes.{dataset}.data.root is null)"
    return None


def transfer_datasets(config: Mapping[str, Any]) -> list[str]:
    block = _block(config)
    if block.get("transfer", {}).get("cell") is None:
        return []
    return [d for d in block["transfer"].get("datasets", []) if unavailable(config, d) is None]


def data_spec(config: Mapping[str, Any], dataset: str) -> dict[str, Any]:
    """The recipe's data spec with names of ``data:`` entries replaced by their mappings."""
    data = dict(_block(config)["recipes"][dataset]["data"])
    for split in ("train", "test"):
        if split in data:
            data[split] = dict(config["data"][data[split]])
    return data


def gpus(config: Mapping[str, Any], dataset: str) -> int:
    """GPUs a job of ``dataset`` requests (0 on ``device: cpu``)."""
    if config.get("device") == "cpu":
        return 0
    return int(_block(config)["recipes"][dataset].get("gpus", 1))


def launcher(n_gpus: int, python: str = "python") -> str:
    """``python`` for one process; torchrun (one process per GPU) for several. ``python`` is resolved in
    the job's environment (the conda env under ``--use-conda``), not the Snakemake process's."""
    if n_gpus <= 1:
        return shlex.quote(python)
    return f"{shlex.quote(python)} -m torch.distributed.run --standalone --nproc_per_node {n_gpus}"


def find_cell(config: Mapping[str, Any], cell_id: str) -> Cell:
    for cell in retrain_cells(config):
        if cell.id == cell_id:
            return cell
    raise KeyError(f"unknown retrain cell {cell_id!r}")


def job_spec(config: Mapping[str, Any], dataset: str, cell_id: str, seed: int, out_dir: str, checkpoint: str,
             threads: int, code: str) -> dict[str, Any]:
    """Everything scripts/retrain.py passes to ``balenas.stages.retrain.retrain_stage``."""
    recipe = _block(config)["recipes"][dataset]
    return {
        "train_cfg": {**recipe.get("train", {}), "seed": int(seed)},
        "data": data_spec(config, dataset),
        "genotype": find_cell(config, cell_id).genotype,
        "outputs": out_dir,
        "checkpoint": checkpoint,
        "run": f"{dataset}/{cell_id}/retrain-{seed}",
        "threads": int(threads),
        "device": str(config.get("device", "cpu")),
        "code": code,
    }


def table3_missing(config: Mapping[str, Any], cell: Cell) -> dict[str, str]:
    """Why each Table 3 dataset column of ``cell``'s row did not run."""
    block = _block(config)
    reasons: dict[str, str] = {}
    transfer = block.get("transfer", {})
    columns = {table_dataset(config, d): d for d in transfer.get("datasets", [])}
    for column in ("cifar100", "imagenet"):
        if transfer.get("cell") != cell.id:
            reasons[column] = f"only {transfer.get('cell')!r} is transferred (retrain.transfer.cell)"
        elif column not in columns:
            reasons[column] = "not among retrain.transfer.datasets"
        elif (why := unavailable(config, columns[column])) is not None:
            reasons[column] = why
    if cell.search is None:
        reasons["search"] = "published cell: no search job in this run"
    return reasons


def table_dataset(config: Mapping[str, Any], dataset: str) -> str:
    """The Table 3 column a run of ``dataset`` fills: ``retrain.table_columns`` maps CPU-scale stand-ins
    (digits for CIFAR-10); the paper's dataset names map to themselves."""
    return str(_block(config).get("table_columns", {}).get(dataset, dataset))


def column_notes(config: Mapping[str, Any]) -> list[str]:
    """One note per stand-in dataset, so a CPU-scale table does not pass for the paper's."""
    return [f"the {column} column holds {dataset!r} runs (retrain.table_columns), not {column}"
            for dataset, column in _block(config).get("table_columns", {}).items() if dataset != column]


def rows_for(cells: Sequence[Cell]) -> list[tuple[str, str]]:
    """Distinct (row key, label) in order: search seeds of one method and order share a row."""
    seen: dict[str, str] = {}
    for c in cells:
        seen.setdefault(c.row, c.label)
    return list(seen.items())
