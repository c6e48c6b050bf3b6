# Selection: BaLeNAS-TF (K draws from a search run's learned distribution) and the Zero-cost NAS
# baseline (K uniform draws), scored with a training-free proxy; and the proxy correlation study.
# One job per (search run or zero-cost seed, selector, K, proxy); see balenas.stages.select.


FINAL_TARGETS.extend(selection_report_outputs())
FINAL_TARGETS.extend(correlation_targets())


# Seconds of CPU: on a cluster they run in the main Snakemake process instead of waiting in the queue.
localrules:
    sample_architectures,
    select_architecture,
    selection_report,


rule sample_architectures:
    input:
        unpack(sample_inputs),
    output:
        samples=f"{RESULTS}/select/{SELECT_DIR}/samples.jsonl",
    log:
        f"logs/sample_architectures/{SELECT_DIR}.log",
    benchmark:
        f"benchmarks/sample_architectures/{SELECT_DIR}.tsv"
    wildcard_constraints:
        run_dir=SELECT_RUN_DIR,
        selector="tf|uniform",
        proxy=PROXY_WILDCARD,
        k=r"\d+",
    conda:
        "../../envs/balenas.yaml"
    threads: 1
    params:
        job=selection_job,
        code=CODE["select"],
    script:
        "../../scripts/select_sample.py"


rule score_proxies:
    input:
        samples=f"{RESULTS}/select/{SELECT_DIR}/samples.jsonl",
        data=data_inputs,
    output:
        scores=f"{RESULTS}/select/{SELECT_DIR}/scores.csv",
        timings=f"{RESULTS}/select/{SELECT_DIR}/score_timings.json",
    log:
        f"logs/score_proxies/{SELECT_DIR}.log",
    benchmark:
        f"benchmarks/score_proxies/{SELECT_DIR}.tsv"
    wildcard_constraints:
        run_dir=SELECT_RUN_DIR,
        selector="tf|uniform",
        proxy=PROXY_WILDCARD,
        k=r"\d+",
    conda:
        "../../envs/balenas.yaml"
    threads: config["threads"]
    resources:
        gpu=GPU,
    params:
        job=selection_job,
        data=data_params,
        network=selection_network,
        device=config["device"],
        # recorded in selected.json (selection_config_used): GraSP moves by ~1e-2 with the thread count
        threads_used=config["threads"],
        code=CODE["select"],
    script:
        "../../scripts/select_score.py"


rule select_architecture:
    input:
        unpack(select_inputs),
        samples=f"{RESULTS}/select/{SELECT_DIR}/samples.jsonl",
        scores=f"{RESULTS}/select/{SELECT_DIR}/scores.csv",
    output:
        selected=f"{RESULTS}/select/{SELECT_DIR}/selected.json",
    log:
        f"logs/select_architecture/{SELECT_DIR}.log",
    benchmark:
        f"benchmarks/select_architecture/{SELECT_DIR}.tsv"
    wildcard_constraints:
        run_dir=SELECT_RUN_DIR,
        selector="tf|uniform",
        proxy=PROXY_WILDCARD,
        k=r"\d+",
    conda:
        "../../envs/balenas.yaml"
    threads: 1
    params:
        job=selection_job,
        config_used=selection_config_used,
        code=CODE["select"],
    script:
        "../../scripts/select_architecture.py"


rule select_supernet:
    input:
        unpack(supernet_select_inputs),
        data=data_inputs,
    output:
        samples=f"{RESULTS}/select/{SELECT_DIR}/samples.jsonl",
        scores=f"{RESULTS}/select/{SELECT_DIR}/scores.csv",
        selected=f"{RESULTS}/select/{SELECT_DIR}/selected.json",
    log:
        f"logs/select_supernet/{SELECT_DIR}.log",
    benchmark:
        f"benchmarks/select_supernet/{SELECT_DIR}.tsv"
    wildcard_constraints:
        run_dir=r"[A-Za-z0-9_]+/order-\d+/seed-\d+",
        selector=supernet_selector_wildcard(),
        proxy="valacc",
        k=r"\d+",
    conda:
        "../../envs/balenas.yaml"
    threads: config["threads"]
    resources:
        gpu=GPU,
    params:
        job=selection_job,
        data=data_params,
        batch_size=supernet_selection_block()["batch_size"],
        device=config["device"],
        code=CODE["select"],
    script:
        "../../scripts/select_supernet.py"


rule selection_report:
    input:
        selection_outputs(),
    output:
        **for_report(
            {
                "csv": f"{RESULTS}/tables/selection.csv",
                "md": f"{RESULTS}/tables/selection.md",
            }
        ),
    log:
        "logs/selection_report/selection_report.log",
    benchmark:
        "benchmarks/selection_report/selection_report.tsv"
    conda:
        "../../envs/balenas.yaml"
    params:
        code=CODE["selection_report"],
    script:
        "../../scripts/select_report.py"


if correlation_enabled():

    rule proxy_correlation:
        input:
            benchmark=correlation_benchmark(),
            data=dataset_files(correlation_block()["dataset"]),
        output:
            **for_report(correlation_outputs()),
        log:
            "logs/proxy_correlation/proxy_correlation.log",
        benchmark:
            "benchmarks/proxy_correlation/proxy_correlation.tsv"
        conda:
            "../../envs/balenas.yaml"
        threads: config["threads"]
        resources:
            gpu=GPU,
        params:
            study=correlation_params(),
            figures=correlation_figures(),
            data=correlation_data_params(),
            device=config["device"],
            checkpoint=f"{config['paths']['checkpoints']}/proxy_correlation/scores.json",
            code=CODE["proxy_correlation"],
        script:
            "../../scripts/proxy_correlation.py"
