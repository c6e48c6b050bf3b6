# Retraining (per cell x retrain seed), transfer (per dataset) and Table 3 (DARTS space).
# Planning logic lives in balenas.retrain_plan; jobs run balenas.stages.retrain through scripts/retrain.py.
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


wildcard_constraints:
    rdataset="|".join(RETRAIN["recipes"]),
    cell="|".join(c.id for c in RETRAIN_CELLS) or "(?!)",
    rseed=r"\d+",


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


RETRAIN_TARGETS = retrain_targets(RETRAIN_CELLS, [RETRAIN["dataset"]], "retrain")
PUBLISHED_TARGETS = retrain_targets(
    [c for c in RETRAIN_CELLS if c.search is None], [RETRAIN["dataset"]], "retrain"
)
TRANSFER_CELL = RETRAIN.get("transfer", {}).get("cell")
TRANSFER_TARGETS = retrain_targets(
    [c for c in RETRAIN_CELLS if c.id == TRANSFER_CELL],
    RP.transfer_datasets(config),
    "transfer",
)
TABLE3 = [f"{RESULTS}/tables/table3_darts.{ext}" for ext in ("csv", "md", "tex")]
FINAL_TARGETS.extend(TABLE3)


rule retrain:
    input:
        retrain_inputs,
    output:
        **retrain_outputs("retrain"),
    log:
        f"logs/retrain/{RETRAIN_JOB}.log",
    benchmark:
        f"benchmarks/retrain/{RETRAIN_JOB}.tsv"
    conda:
        "../../envs/balenas.yaml"
    threads: config["threads"]
    resources:
        gpu=lambda w: RP.gpus(config, w.rdataset),
    params:
        spec=retrain_spec("retrain"),
        launcher=lambda w: RP.launcher(RP.gpus(config, w.rdataset)),
        script=RETRAIN_SCRIPT,
        code=CODE["retrain"],
    shell:
        "{params.launcher} {params.script:q} {params.spec:q} {log:q}"


use rule retrain as transfer with:
    output:
        **retrain_outputs("transfer"),
    log:
        f"logs/transfer/{RETRAIN_JOB}.log",
    benchmark:
        f"benchmarks/transfer/{RETRAIN_JOB}.tsv"
    params:
        spec=retrain_spec("transfer"),
        launcher=lambda w: RP.launcher(RP.gpus(config, w.rdataset)),
        script=RETRAIN_SCRIPT,
        code=CODE["retrain"],


# Target: retrain the published genotypes of retrain.published (the pipeline's anchor, DARTS_V2).
rule retrain_published:
    input:
        PUBLISHED_TARGETS,


localrules:
    table3,


rule table3:
    input:
        retrain=RETRAIN_TARGETS,
        transfer=TRANSFER_TARGETS,
        search=[
            f"{RESULTS}/search/{RUN}/metrics.json".format(**c.search)
            for c in RETRAIN_CELLS
            if c.search is not None
        ],
    output:
        TABLE3,
    log:
        "logs/report/table3.log",
    benchmark:
        "benchmarks/report/table3.tsv"
    conda:
        "../../envs/balenas.yaml"
    params:
        search_jobs={
            c.id: [
                (
                    f"benchmarks/search/{RUN}.tsv".format(**c.search),
                    f"{RESULTS}/search/{RUN}/metrics.json".format(**c.search),
                )
            ]
            for c in RETRAIN_CELLS
            if c.search is not None
        },
        paper=str(
            Path(workflow.basedir).parents[1] / "shared" / "paper" / "table3_darts.csv"
        ),
        code=CODE["table3"],
    script:
        "../../scripts/table3.py"
