# NAS-Bench-201 ground truth: an official file is converted once into the compact table; every searched
# and selected architecture is looked up in that table by ONE job (a lookup takes microseconds, a job
# seconds), writing results/benchmark/<the source's path>/lookup.json (+ epochs.csv per search run);
# Table 1, Table 2 and the accuracy-per-epoch figure are built from the lookups (or, with lookups off,
# say so). See balenas.stages.benchmark and balenas.stages.benchmark_report.


FINAL_TARGETS.extend(benchmark_report_outputs().values())


# Seconds of CPU: on a cluster they run in the main Snakemake process instead of waiting in the queue.
localrules:
    benchmark_report,


rule convert_benchmark:
    input:
        source=benchmark_source,
    output:
        table=f"{RESULTS}/benchmark/nb201_table.csv",
        provenance=f"{RESULTS}/benchmark/nb201_table.csv.provenance.json",
    log:
        "logs/convert_benchmark/convert_benchmark.log",
    benchmark:
        "benchmarks/convert_benchmark/convert_benchmark.tsv"
    conda:
        "../../envs/benchmark.yaml"
    threads: 1
    params:
        allow_partial=BENCHMARK.allow_partial,
        code=CODE["benchmark"],
    script:
        "../../scripts/benchmark_convert.py"


if BENCHMARK.enabled:

    localrules:
        lookup,

    rule lookup:
        input:
            genotype=nb201_runs(f"{RESULTS}/search/{RUN}/genotype.json"),
            history=nb201_runs(f"{RESULTS}/search/{RUN}/history.csv"),
            selected=benchmark_selections(),
            table=benchmark_table(),
        output:
            search=nb201_runs(f"{RESULTS}/benchmark/search/{RUN}/lookup.json"),
            epochs=nb201_runs(f"{RESULTS}/benchmark/search/{RUN}/epochs.csv"),
            selection=[selection_lookup(p) for p in benchmark_selections()],
        log:
            "logs/lookup/lookup.log",
        benchmark:
            "benchmarks/lookup/lookup.tsv"
        conda:
            "../../envs/balenas.yaml"
        threads: 1
        params:
            runs=nb201_run_ids(),
            code=CODE["benchmark"],
        script:
            "../../scripts/benchmark_lookup.py"


rule benchmark_report:
    input:
        unpack(benchmark_report_inputs),
    output:
        **for_report(benchmark_report_outputs()),
    log:
        "logs/benchmark_report/benchmark_report.log",
    benchmark:
        "benchmarks/benchmark_report/benchmark_report.tsv"
    conda:
        "../../envs/balenas.yaml"
    threads: 1
    params:
        off_reason=BENCHMARK.off_reason,
        config={
            key: config.get(key)
            for key in (
                "experiments",
                "selection",
                "report",
                "benchmarks",
            )
        },
        code=CODE["benchmark_report"],
    script:
        "../../scripts/benchmark_report.py"
