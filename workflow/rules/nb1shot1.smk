# NAS-Bench-1Shot1 (Figure 1): the NAS-Bench-101 file (benchmarks.nb101: the official TFRecord or the
# compact CSV) is checked at parse time and converted once; one job per NB-1Shot1 space of the sheet
# looks up the derived genotype of every search epoch and draws Figure 1. With no file, the figure and
# its CSV say lookups are off and why. See balenas.stages.fig1_nb1shot1.

from balenas.benchmarks.nb101 import COMPACT, validate_nb101_source
from balenas.stages.fig1_nb1shot1 import fig1_outputs, lookup_state

NB1SHOT1_PAIRS = [
    (space, dataset)
    for space, dataset in space_dataset_pairs()
    if space.startswith("nb1shot1-")
]
NB101_SOURCE, NB101_OFF = lookup_state(
    (config.get("benchmarks") or {}).get("nb101"),
    (config.get("benchmarks") or {}).get("if_missing", "skip"),
)
NB101_COMPACT = (
    NB101_SOURCE is not None and validate_nb101_source(NB101_SOURCE) == COMPACT
)
NB101_TABLE = (
    (NB101_SOURCE if NB101_COMPACT else f"{RESULTS}/benchmark/nb101_table.csv")
    if NB101_SOURCE
    else None
)
CODE["fig1"] = code_hash(
    [
        "benchmarks/nb101.py",
        "nb101_graph.py",
        "report/fig1_nb1shot1.py",
        "stages/fig1_nb1shot1.py",
    ]
)

FIG1_TARGETS = [
    path for pair in NB1SHOT1_PAIRS for path in fig1_outputs(RESULTS, *pair).values()
]
FINAL_TARGETS.extend(FIG1_TARGETS)


localrules:
    fig1_nb1shot1,
    fig1,


# Target: every Figure 1 of the sheet (snakemake fig1).
rule fig1:
    input:
        FIG1_TARGETS,


rule convert_nb101:
    input:
        source=NB101_SOURCE or [],
    output:
        table=f"{RESULTS}/benchmark/nb101_table.csv",
    log:
        "logs/convert_nb101/convert_nb101.log",
    benchmark:
        "benchmarks/convert_nb101/convert_nb101.tsv"
    conda:
        "../../envs/balenas.yaml"
    threads: 1
    params:
        code=CODE["fig1"],
    script:
        "../../scripts/nb101_convert.py"


rule fig1_nb1shot1:
    input:
        history=lambda w: all_runs(
            f"{RESULTS}/search/{RUN}/history.csv", space=w.space, dataset=w.dataset
        ),
        table=[NB101_TABLE] if NB101_TABLE else [],
    output:
        **for_report(fig1_outputs(RESULTS, "{space}", "{dataset}")),
    log:
        "logs/fig1_nb1shot1/{space}_{dataset}.log",
    benchmark:
        "benchmarks/fig1_nb1shot1/{space}_{dataset}.tsv"
    conda:
        "../../envs/balenas.yaml"
    threads: 1
    params:
        runs=lambda w: [
            r.as_dict() for r in RUNS if (r.space, r.dataset) == (w.space, w.dataset)
        ],
        off_reason=NB101_OFF,
        code=CODE["fig1"],
    script:
        "../../scripts/fig1_nb1shot1.py"
