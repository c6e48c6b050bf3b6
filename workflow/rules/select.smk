# Selection: BaLeNAS-TF (K draws from a search run's learned distribution) and the Zero-cost NAS
# baseline (K uniform draws), scored with a training-free proxy; and the proxy correlation study.
# The draws of a smaller K are the first K of the largest K's (K_max): per search run (or zero-cost seed)
# and selector one sampling job draws K_max candidates, one scoring job scores them with every proxy (one
# network per candidate for all), and one selection job per proxy writes selected.json for every K;
# paths: balenas.selection_paths, stages: balenas.stages.select.


FINAL_TARGETS.extend(selection_report_outputs())
FINAL_TARGETS.extend(correlation_targets())


if SELECT_KS and SELECT_PROXIES:

    # One group per (search run or zero-cost seed, selector): on a cluster (profiles/slurm) its sampling,
    # scoring (every proxy, one after another on one GPU) and selection (every K) are one submission.
    # Local runs ignore groups.
    rule sample_architectures:
        input:
            unpack(sample_inputs),
        output:
            samples=samples_file(RESULTS, SELECT_RUN, "{selector}", "{k}"),
        log:
            f"logs/sample_architectures/{SAMPLE_JOB}.log",
        benchmark:
            f"benchmarks/sample_architectures/{SAMPLE_JOB}.tsv"
        wildcard_constraints:
            run_dir=SELECT_RUN_DIR,
            selector="tf|uniform",
            k=r"\d+",
        group:
            SELECT_GROUP
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
            samples=samples_file(RESULTS, SELECT_RUN, "{selector}", "{k}"),
            data=data_inputs,
        output:
            scores=[
                scores_file(RESULTS, SELECT_RUN, "{selector}", proxy, "{k}")
                for proxy in SELECT_PROXIES
            ],
            timings=[
                score_timings_file(RESULTS, SELECT_RUN, "{selector}", proxy, "{k}")
                for proxy in SELECT_PROXIES
            ],
        log:
            f"logs/score_proxies/{SAMPLE_JOB}.log",
        benchmark:
            f"benchmarks/score_proxies/{SAMPLE_JOB}.tsv"
        wildcard_constraints:
            run_dir=SELECT_RUN_DIR,
            selector="tf|uniform",
            k=r"\d+",
        group:
            SELECT_GROUP
        conda:
            "../../envs/balenas.yaml"
        threads: config["threads"]
        resources:
            gpu=GPU,
        params:
            job=selection_job,
            proxies=SELECT_PROXIES,
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
            samples=samples_file(RESULTS, SELECT_RUN, "{selector}", SELECT_KS[-1]),
            scores=scores_file(
                RESULTS, SELECT_RUN, "{selector}", "{proxy}", SELECT_KS[-1]
            ),
        output:
            selected=[
                selected_file(RESULTS, SELECT_RUN, "{selector}", "{proxy}", k)
                for k in SELECT_KS
            ],
        log:
            f"logs/select_architecture/{SELECT_JOB}.log",
        benchmark:
            f"benchmarks/select_architecture/{SELECT_JOB}.tsv"
        wildcard_constraints:
            run_dir=SELECT_RUN_DIR,
            selector="tf|uniform",
            proxy=PROXY_WILDCARD,
        group:
            SELECT_GROUP
        conda:
            "../../envs/balenas.yaml"
        threads: 1
        params:
            job=selection_job,
            ks=SELECT_KS,
            config_used=selection_config_used,
            code=CODE["select"],
        script:
            "../../scripts/select_architecture.py"


localrules:
    selection_report,


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
