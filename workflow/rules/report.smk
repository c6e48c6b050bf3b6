# The final rules: tables and figures from every run.


FINAL_TARGETS.extend(report_outputs())


# Seconds of CPU: on a cluster they run in the main Snakemake process instead of waiting in the queue.
localrules:
    report,


rule report:
    input:
        metrics=all_runs(f"{RESULTS}/search/{RUN}/metrics.json"),
        history=all_runs(f"{RESULTS}/search/{RUN}/history.csv"),
    output:
        for_report(report_outputs()),
    log:
        "logs/report/report.log",
    benchmark:
        "benchmarks/report/report.tsv"
    conda:
        "../../envs/balenas.yaml"
    params:
        tables=lambda w, output: Path(output[0]).parent,
        figures=lambda w, output: Path(output[-1]).parent,
        code=CODE["report"],
    script:
        "../../scripts/report.py"
