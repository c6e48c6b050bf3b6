# Downloads: one job per dataset with `download: true`, before any job reads it (see dataset_files).


# A local rule: on a cluster it runs on the submit host, which can reach the internet.
localrules:
    prepare_data,


rule prepare_data:
    output:
        record=f"{RESULTS}/data/{{dataset}}/prepared.json",
    log:
        "logs/prepare_data/{dataset}.log",
    benchmark:
        "benchmarks/prepare_data/{dataset}.tsv"
    wildcard_constraints:
        dataset=DOWNLOADED_DATASETS,
    conda:
        "../../envs/balenas.yaml"
    threads: 1
    params:
        data=data_params,
        code=CODE["data"],
    script:
        "../../scripts/prepare_data.py"
