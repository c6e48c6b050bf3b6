# Accessors of the retrain rules (rules/retrain.smk): the planned cells and each job's inputs and spec.
# Planning logic lives in balenas.retrain_plan.
import json

from balenas import retrain_plan as RP
from balenas.train import RETRAIN_OUTPUTS

try:
    RP.check_retrain_config(config)
except (KeyError, ValueError) as err:
    raise WorkflowError(f"invalid config: {err}") from None

RETRAIN = config["retrain"]
RETRAIN_CELLS = RP.retrain_cells(config, f"{RESULTS}/search")
RETRAIN_JOB = "{rdataset}/{cell}/retrain-{rseed}"
RETRAIN_SCRIPT = str(Path(workflow.basedir).parent / "scripts" / "retrain.py")
CODE["retrain"] = code_hash(
    [
        "train.py",
        "train_data.py",
        "cost.py",
        "data.py",
        "runtime.py",
        "stages/retrain.py",
        "supernets/darts_network.py",
        "supernets/darts_ops.py",
        "spaces/darts",
    ]
)
CODE["table3"] = code_hash(
    ["report/table3.py", "report/io.py", "retrain_plan.py", "cost.py"]
)


def retrain_outputs(stage):
    return {
        name.split(".")[0]: f"{RESULTS}/{stage}/{RETRAIN_JOB}/{name}"
        for name in RETRAIN_OUTPUTS
    }


def retrain_inputs(wildcards):
    cell = RP.find_cell(config, wildcards.cell)
    data = RETRAIN["recipes"][wildcards.rdataset]["data"]
    files = [f for s in ("train", "test") if s in data for f in dataset_files(data[s])]
    return ([] if cell.search is None else [cell.genotype]) + files


def retrain_spec(stage):
    def spec(wildcards, threads):
        job = RETRAIN_JOB.format(**wildcards)
        return json.dumps(
            RP.job_spec(
                config,
                wildcards.rdataset,
                wildcards.cell,
                int(wildcards.rseed),
                f"{RESULTS}/{stage}/{job}",
                f"{config['paths']['checkpoints']}/{stage}/{job}/checkpoint.pt",
                threads,
                CODE["retrain"],
            )
        )

    return spec


def retrain_targets(cells, datasets, stage):
    return [
        f"{RESULTS}/{stage}/{d}/{c.id}/retrain-{s}/metrics.json"
        for d in datasets
        if RP.unavailable(config, d) is None
        for c in cells
        for s in RETRAIN["seeds"]
    ]
