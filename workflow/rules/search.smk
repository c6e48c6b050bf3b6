# One search job per (space, dataset, method, order, seed).


rule search:
    input:
        data=data_inputs,
    output:
        arch=f"{RESULTS}/search/{RUN}/arch.pt",
        genotype=f"{RESULTS}/search/{RUN}/genotype.json",
        history=f"{RESULTS}/search/{RUN}/history.csv",
        metrics=f"{RESULTS}/search/{RUN}/metrics.json",
        supernet=f"{RESULTS}/search/{RUN}/supernet.pt",
        timings=f"{RESULTS}/search/{RUN}/timings.json",
    log:
        f"logs/search/{RUN}.log",
    benchmark:
        f"benchmarks/search/{RUN}.tsv"
    conda:
        "../../envs/balenas.yaml"
    threads: config["threads"]
    resources:
        gpu=GPU,
    params:
        search=search_params,
        data=data_params,
        device=config["device"],
        checkpoint=lambda w: f"{config['paths']['checkpoints']}/search/{RUN}/checkpoint.pt".format(
            **w
        ),
        code=CODE["search"],
    script:
        "../../scripts/search.py"
