# NAS-Bench-201 ground truth: an official file is converted once into the compact table; every searched
# and selected architecture is looked up in that table; Table 1, Table 2 and the accuracy-per-epoch
# figure are built from the lookups (or, with lookups off, say so). See balenas.stages.benchmark.


FINAL_TARGETS.extend(benchmark_report_outputs().values())


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
        "../../envs/balenas.yaml"
    threads: 1
    params:
        allow_partial=BENCHMARK.allow_partial,
        code=CODE["benchmark"],
    script:
        "../../scripts/benchmark_convert.py"


rule lookup_search:
    input:
        genotype=f"{RESULTS}/search/{RUN}/genotype.json",
        history=f"{RESULTS}/search/{RUN}/history.csv",
        table=benchmark_table_file,
    output:
        lookup=f"{RESULTS}/benchmark/search/{RUN}/lookup.json",
        epochs=f"{RESULTS}/benchmark/search/{RUN}/epochs.csv",
    log:
        f"logs/lookup_search/{RUN}.log",
    benchmark:
        f"benchmarks/lookup_search/{RUN}.tsv"
    conda:
        "../../envs/balenas.yaml"
    threads: 1
    params:
        run=lambda w: dict(w.items()),
        code=CODE["benchmark"],
    script:
        "../../scripts/benchmark_lookup_search.py"


rule lookup_selection:
    input:
        selected=f"{RESULTS}/select/{{selection}}/selected.json",
        table=benchmark_table_file,
    output:
        f"{RESULTS}/benchmark/select/{{selection}}/lookup.json",
    log:
        "logs/lookup_selection/{selection}.log",
    benchmark:
        "benchmarks/lookup_selection/{selection}.tsv"
    conda:
        "../../envs/balenas.yaml"
    threads: 1
    params:
        code=CODE["benchmark"],
    script:
        "../../scripts/benchmark_lookup_selection.py"


rule benchmark_report:
    input:
        unpack(benchmark_report_inputs),
    output:
        **benchmark_report_outputs(),
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
                "datasets",
                "methods",
                "orders",
                "selection",
                "report",
                "benchmarks",
            )
        },
        code=CODE["benchmark_report"],
    script:
        "../../scripts/benchmark_report.py"
