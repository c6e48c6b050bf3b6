# Retraining (per cell x retrain seed), transfer (per dataset) and Table 3 (DARTS space).
# Planning logic lives in balenas.retrain_plan (accessors: rules/retrain_common.smk); jobs run
# balenas.stages.retrain through scripts/retrain.py.


include: "retrain_common.smk"


wildcard_constraints:
    rdataset="|".join(RETRAIN["recipes"]),
    cell="|".join(c.id for c in RETRAIN_CELLS) or "(?!)",
    rseed=r"\d+",


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
        for_report(TABLE3),
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
