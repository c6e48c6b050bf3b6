# The final rules: tables and figures from every run.


def report_outputs():
    tables = expand(
        f"{RESULTS}/tables/{{name}}.{{ext}}",
        name=["search_summary"],
        ext=["csv", "md", "tex"],
    ) + expand(f"{RESULTS}/tables/search_genotypes.{{ext}}", ext=["csv", "md"])
    figures = [
        f"{RESULTS}/figures/search_curves_{space}_{dataset}_{col}.{ext}"
        for space, dataset in space_dataset_pairs()
        for col in ("valid_acc", "train_acc")
        for ext in ("png", "pdf")
    ]
    return tables + figures


rule report:
    input:
        metrics=all_runs(f"{RESULTS}/search/{RUN}/metrics.json"),
        history=all_runs(f"{RESULTS}/search/{RUN}/history.csv"),
    output:
        report_outputs(),
    params:
        tables=f"{RESULTS}/tables",
        figures=f"{RESULTS}/figures",
        code=CODE["report"],
    log:
        "logs/report/report.log",
    conda:
        "../../envs/balenas.yaml"
    script:
        "../../scripts/report.py"
