# Validation, wildcard constraints and input functions shared by every rule.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# The workflow always runs the package of its own checkout (scripts import it through PYTHONPATH).
SRC = str(Path(workflow.basedir).parent / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from balenas.config import ConfigError, check_config, data_config, search_config
from balenas.runtime import code_hash, prepend_pythonpath

prepend_pythonpath(SRC)

validate(config, workflow.source_path("../schemas/config.schema.yaml"))
try:
    check_config(config)
except ConfigError as err:
    raise WorkflowError(f"invalid config: {err}") from None

RESULTS = "results"
RUN = "{space}/{dataset}/{method}/order-{order}/seed-{seed}"

# Package code each family of rules depends on (an edit reruns that family and what follows it).
CODE = {
    "search": code_hash(
        [
            "spaces",
            "ops.py",
            "supernets",
            "archdist",
            "archopt",
            "analysis",
            "methods.py",
            "search.py",
            "data.py",
            "runtime.py",
            "stages/search.py",
        ]
    ),
    "report": code_hash(["report"]),
}


def search_params(wildcards):
    cfg = search_config(
        config,
        wildcards.space,
        wildcards.dataset,
        wildcards.method,
        int(wildcards.order),
        int(wildcards.seed),
    )
    return cfg.to_dict()


def data_params(wildcards):
    return data_config(config, wildcards.dataset).__dict__


def all_runs(pattern):
    """``pattern`` expanded over every configured space, dataset, method, order and seed."""
    return expand(
        pattern,
        space=config["spaces"],
        dataset=config["datasets"],
        method=config["methods"],
        order=config["orders"],
        seed=config["seeds"],
    )


def space_dataset_pairs():
    return [(s, d) for s in config["spaces"] for d in config["datasets"]]


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


# Every rules file appends the files its final rule writes; ``rule all`` asks for all of them.
FINAL_TARGETS = []


def final_targets():
    return FINAL_TARGETS
