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


# Image zips (source imagezip): decoded ONCE, failing on the first unreadable member; every job loads
# the decoded array (dataset_files) instead of decoding the zip again.
rule decode_data:
    input:
        zip=lambda w: data_config(config, w.dataset).root,
    output:
        decoded=f"{RESULTS}/data/{{dataset}}/decoded.pt",
        record=f"{RESULTS}/data/{{dataset}}/decoded.json",
    log:
        "logs/decode_data/{dataset}.log",
    benchmark:
        "benchmarks/decode_data/{dataset}.tsv"
    wildcard_constraints:
        dataset=DECODED_DATASETS,
    conda:
        "../../envs/balenas.yaml"
    threads: 1
    params:
        data=data_params,
        code=CODE["data"],
    script:
        "../../scripts/decode_data.py"
