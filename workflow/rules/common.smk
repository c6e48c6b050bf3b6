# Validation, wildcard constraints and input functions shared by every rule.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# The workflow always runs the package of its own checkout (scripts import it through PYTHONPATH).
SRC = str(Path(workflow.basedir).parent / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from balenas.benchmarks.settings import (
    report_paths,
    resolve_benchmarks,
    table1_choice_warnings,
)
from balenas.config import (
    ConfigError,
    check_config,
    data_config,
    experiments,
    search_config,
    validate_config,
)
from balenas.experiments import row_selectors, search_runs
from balenas.runtime import code_hash, prepend_pythonpath

prepend_pythonpath(SRC)

# The schema's registry enums (x-registry) are filled from the package's registries: one list of names.
try:
    validate_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")
    check_config(config)
except ConfigError as err:
    raise WorkflowError(f"invalid config: {err}") from None

RESULTS = "results"
RUN = "{space}/{dataset}/{method}/order-{order}/seed-{seed}"
# The experiment sheet (config `experiments:`) and every search run it asks for.
EXPERIMENTS = experiments(config)
RUNS = search_runs(EXPERIMENTS)


def sheet_values(key):
    """The distinct values of one run key over the sheet (wildcard constraints)."""
    return sorted({str(getattr(run, key)) for run in RUNS})


# GPU rules (search, score_proxies, proxy_correlation) take `resources: gpu=GPU`: one GPU per job unless
# the config runs on the CPU. With profiles/slurm that is sbatch --gpus=1, with profiles/local one of the
# workstation's `resources: gpu=N` slots; a `device: cpu` run neither requests nor waits for a GPU.
GPU = 0 if config["device"] == "cpu" else 1

# `snakemake --report`: the caption (workflow/report/*.rst, naming the paper's table or figure) and the
# category of every table and figure, chosen by the start of the file name (see for_report).
REPORT_ITEMS = {
    "table1_": ("table1.rst", "Paper tables", "Table 1"),
    "table2_": ("table2.rst", "Paper tables", "Table 2"),
    "table3_": ("table3.rst", "Paper tables", "Table 3"),
    "benchmark_acc_per_epoch_": ("figure1.rst", "Paper figures", "Figure 1 (NB201)"),
    "fig1_nb1shot1_": ("figure1_nb1shot1.rst", "Paper figures", "Figure 1 (NB-1Shot1)"),
    "fig2_": ("figure2.rst", "Paper figures", "Figure 2"),
    "fig3_": ("figure3.rst", "Paper figures", "Figure 3"),
    "selection": ("selection.rst", "Selection", "Selected architectures"),
    "proxy_correlation": ("proxy_correlation.rst", "Selection", "Proxy correlation"),
    "search_summary": ("search_summary.rst", "Search", "Summary"),
    "search_genotypes": ("search_genotypes.rst", "Search", "Architectures"),
    "search_curves_": ("search_curves.rst", "Search", "Curves"),
}

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
            "guards.py",
            "checkpoints.py",
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
    return dataset_params(wildcards.dataset)


def dataset_params(name):
    """data.<name> as the jobs read it; an image zip is read from its decoded file (issue 16)."""
    cfg = data_config(config, name)
    if cfg.source == "imagezip":
        return {**cfg.__dict__, "decoded": f"{RESULTS}/data/{name}/decoded.pt"}
    return cfg.__dict__


# Datasets fetched by rule prepare_data (a pattern that matches nothing when there are none).
DOWNLOADED_DATASETS = (
    "|".join(name for name, block in config["data"].items() if block.get("download"))
    or "(?!)"
)
CODE["data"] = code_hash(["data.py", "stages/data.py", "runtime.py"])
# Image zips decoded once by rule decode_data (issue 16; a pattern that matches nothing when none).
DECODED_DATASETS = (
    "|".join(
        name
        for name, block in config["data"].items()
        if block.get("source") == "imagezip"
    )
    or "(?!)"
)


def dataset_files(name):
    """The files a job reading data.<name> depends on: the download record (download: true) or the zip
    (imagezip), so that a download happens once before the jobs and a replaced zip reruns them.
    """
    cfg = data_config(config, name)
    if cfg.download:
        return [f"{RESULTS}/data/{name}/prepared.json"]
    if cfg.source == "imagezip":  # issue 16: the decoded array (its rule reads the zip)
        return [
            f"{RESULTS}/data/{name}/decoded.pt",
            f"{RESULTS}/data/{name}/decoded.json",
        ]
    return []


def data_inputs(wildcards):
    return dataset_files(wildcards.dataset)


def all_runs(pattern, space=None, dataset=None):
    """``pattern`` formatted for every search run of the sheet (of ``space`` / ``dataset`` only, if given)."""
    return [
        pattern.format(**run.as_dict())
        for run in RUNS
        if space in (None, run.space) and dataset in (None, run.dataset)
    ]


def space_dataset_pairs():
    out = []
    for e in EXPERIMENTS:
        if (e.space, e.dataset) not in out:
            out.append((e.space, e.dataset))
    return out


def report_outputs():
    """The search report's files (tables, curves, Figures 2 and 3), named by the package."""
    from balenas.report.search import search_report_paths

    paths = search_report_paths(
        f"{RESULTS}/tables", f"{RESULTS}/figures", space_dataset_pairs()
    )
    return [str(p) for p in paths]


# Every rules file appends the files its final rule writes; ``rule all`` asks for all of them.
FINAL_TARGETS = []


def final_targets():
    return FINAL_TARGETS


def for_report(outputs):
    """``outputs`` (a path, a list or a dict of them) with every table and figure flagged for
    ``snakemake --report``; other files pass unchanged. A table or figure whose name matches no entry of
    REPORT_ITEMS fails at parse time: give it a caption there."""
    if isinstance(outputs, dict):
        return {k: for_report(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return [for_report(v) for v in outputs]
    path = Path(outputs)
    if path.parent.name not in ("tables", "figures"):
        return outputs
    item = next((v for k, v in REPORT_ITEMS.items() if path.name.startswith(k)), None)
    if item is None:
        raise WorkflowError(f"{outputs}: no caption in REPORT_ITEMS (rules/common.smk)")
    caption, category, subcategory = item
    return report(
        outputs,
        caption=f"../report/{caption}",
        category=category,
        subcategory=subcategory,
        labels={"file": path.name},
    )


# --- benchmark lookups (NAS-Bench-201 ground truth) and Tables 1-2 -----------------------------------
# Decided once, at parse time: check_config has already failed on a corrupt or wrong-format file; an
# absent one (benchmarks.if_missing: skip) or benchmarks.nb201: null turns lookups off, said here and in
# every benchmark table.
from snakemake.logging import logger

BENCHMARK = resolve_benchmarks(config.get("benchmarks"))
if not BENCHMARK.enabled:
    logger.warning(BENCHMARK.off_message())
for _warning in table1_choice_warnings(config):
    logger.warning(_warning)
CODE["benchmark"] = code_hash(["benchmarks", "stages/benchmark.py", "runtime.py"])
CODE["benchmark_report"] = code_hash(
    [
        "benchmarks",
        "report",
        "stages/benchmark.py",
        "stages/benchmark_report.py",
        "runtime.py",
    ]
)


def benchmark_table():
    """The compact table every lookup reads (configured CSV or converted file); [] when lookups are off."""
    path = BENCHMARK.table_path(f"{RESULTS}/benchmark/nb201_table.csv")
    return [path] if path else []


def benchmark_source(wildcards):
    if not BENCHMARK.needs_conversion:
        raise WorkflowError(
            f"convert_benchmark: benchmarks.nb201 ({BENCHMARK.nb201}) names no official file to convert"
        )
    return BENCHMARK.nb201


def nb201_runs(pattern):
    """``pattern`` over every search run of the nb201 space (the one with a benchmark)."""
    return all_runs(pattern, space="nb201")


def nb201_run_ids():
    """The identity of every run of nb201_runs(), in the same order (values as strings)."""
    return [
        {k: str(v) for k, v in run.as_dict().items()}
        for run in RUNS
        if run.space == "nb201"
    ]


def benchmark_selections():
    """Every configured selected.json of the nb201 space (none before the selection stage exists)."""
    outputs = globals().get("selection_outputs", list)()
    return [p for p in outputs if p.startswith(f"{RESULTS}/select/nb201/")]


def selection_lookup(selected):
    """results/select/<path>/selected.json -> results/benchmark/select/<path>/lookup.json"""
    inner = selected.removeprefix(f"{RESULTS}/select/").removesuffix("selected.json")
    return f"{RESULTS}/benchmark/select/{inner}lookup.json"


def paper_inputs():
    """The paper's CSVs present under paths.paper (an edited file reruns the report; absent: none)."""
    from balenas.report.paper_numbers import paper_files

    return paper_files(config["paths"].get("paper"))


def benchmark_report_inputs(wildcards):
    if not BENCHMARK.enabled:
        return {
            "search": nb201_runs(f"{RESULTS}/search/{RUN}/metrics.json"),
            "selection": benchmark_selections(),
            "epochs": [],
            "table": [],
            "paper": paper_inputs(),
        }
    return {
        "search": nb201_runs(f"{RESULTS}/benchmark/search/{RUN}/lookup.json"),
        "selection": [selection_lookup(p) for p in benchmark_selections()],
        "epochs": nb201_runs(f"{RESULTS}/benchmark/search/{RUN}/epochs.csv"),
        "table": benchmark_table(),
        "paper": paper_inputs(),
    }


def benchmark_report_outputs():
    """Tables 1-2 always; the accuracy-per-epoch figures only with lookups."""
    datasets = [d for s, d in space_dataset_pairs() if s == "nb201"]
    return report_paths(RESULTS, datasets, BENCHMARK.enabled)


# --- selection (BaLeNAS-TF and the zero-cost baseline) and the proxy correlation study ----------------
# Selection files live under results/select/{space}/{dataset}/{run_dir}/ (balenas.selection_paths) where
# run_dir is "{method}/order-{order}/seed-{seed}" (selector tf, one search run) or "zero_cost/seed-{seed}"
# (selector uniform, no search): {selector}-k{K_max}/samples.jsonl, {selector}-{proxy}-k{K_max}/scores.csv
# and {selector}-{proxy}-k{k}/selected.json for every configured k.
from balenas.selection_paths import (
    samples_file,
    score_timings_file,
    scores_file,
    select_ks,
    selected_file,
)

SELECT_RUN = "{space}/{dataset}/{run_dir}"
SELECT_DIR = f"{SELECT_RUN}/{{selector}}-{{proxy}}-k{{k}}"
# The sampling and scoring jobs of a run and selector, and its selection job per proxy (log and benchmark
# names).
SAMPLE_JOB = f"{SELECT_RUN}/{{selector}}-k{{k}}"
SELECT_JOB = f"{SELECT_RUN}/{{selector}}-{{proxy}}"
SELECT_RUN_DIR = r"[A-Za-z0-9_]+/order-\d+/seed-\d+|zero_cost/seed-\d+"
# Sampling, scoring and selection of one run and selector connect into one group job (one cluster
# submission); groups are inactive in local runs.
SELECT_GROUP = "selection"
CODE["select"] = code_hash(
    [
        "select.py",
        "stages/select.py",
        "spaces",
        "ops.py",
        "supernets",
        "archdist",
        "methods.py",
        "proxies",
        "data.py",
        "runtime.py",
    ]
)
CODE["selection_report"] = code_hash(["report/selection.py", "report/io.py"])
CODE["proxy_correlation"] = code_hash(
    [
        "stages/proxy_correlation.py",
        "report/proxy_correlation.py",
        "report/io.py",
        "select.py",
        "spaces",
        "ops.py",
        "supernets",
        "proxies",
        "benchmarks",
        "data.py",
        "runtime.py",
    ]
)


def selection_block():
    return config.get("selection") or {}


# The configured Ks, ascending and distinct; the last (K_max) is drawn and scored, the others select from
# the first K of its draws. Empty: no proxy selection rules.
SELECT_KS = select_ks(selection_block().get("ks") or [])
# The proxies every run's candidates are scored with (one scoring job per run and selector for all).
SELECT_PROXIES = list(selection_block().get("proxies") or [])


def zero_cost_seeds(space, dataset):
    """The zero-cost baseline's seeds on (space, dataset): selection.zero_cost_seeds, or every seed of
    the sheet's rows there that ask for it."""
    seeds = selection_block().get("zero_cost_seeds")
    if seeds is not None:
        return seeds
    rows = [
        e
        for e in EXPERIMENTS
        if (e.space, e.dataset) == (space, dataset)
        and "uniform" in row_selectors(e, config)
    ]
    return sorted({s for e in rows for s in e.seeds})


def selection_outputs():
    """Every configured selected.json: TF per search run of the rows that ask for it, the zero-cost
    baseline per (space, dataset) that any row asks it for, per zero-cost seed."""
    proxies = SELECT_PROXIES
    out = []
    uniform = []
    for e in EXPERIMENTS:
        selectors = row_selectors(e, config)
        if "tf" in selectors:
            for run in e.runs():
                out += [
                    selected_file(RESULTS, run.path, "tf", proxy, k)
                    for proxy in proxies
                    for k in SELECT_KS
                ]
        if "uniform" in selectors and (e.space, e.dataset) not in uniform:
            uniform.append((e.space, e.dataset))
    for space, dataset in uniform:
        out += [
            selected_file(
                RESULTS, f"{space}/{dataset}/zero_cost/seed-{seed}", "uniform", proxy, k
            )
            for seed in zero_cost_seeds(space, dataset)
            for proxy in proxies
            for k in SELECT_KS
        ]
    return out + supernet_selection_outputs()


def supernet_selector_wildcard():
    from balenas.select import SUPERNET_SELECTORS

    return "|".join(SUPERNET_SELECTORS)


def supernet_selection_block():
    """selection.supernet: the K and validation batch size of the supernet selectors (RandomNAS, SETN, ENAS)."""
    return selection_block().get("supernet") or {"ks": [100], "batch_size": 64}


def supernet_selection_outputs():
    """selected.json of every supernet selector (supernet, topk, controller) a row asks for, per search run,
    under the run's directory as tf's: results/select/<run>/<selector>-valacc-k<k>/."""
    from balenas.select import ALL_SELECTORS, SUPERNET_PROXY

    out = []
    for e in EXPERIMENTS:
        for selector in row_selectors(e, config):
            if ALL_SELECTORS.get(selector) != "supernet":
                continue
            for run in e.runs():
                out += expand(
                    f"{RESULTS}/select/{run.path}/{selector}-{SUPERNET_PROXY}-k{{k}}/selected.json",
                    k=supernet_selection_block()["ks"],
                )
    return out


def supernet_select_inputs(wildcards):
    """The search run's arch.pt and supernet.pt (its shared weights score the candidates)."""
    run = f"{RESULTS}/search/{wildcards.space}/{wildcards.dataset}/{wildcards.run_dir}"
    return {"arch": f"{run}/arch.pt", "supernet": f"{run}/supernet.pt"}


def selection_job(wildcards):
    """The job's coordinates parsed from the path (tf needs a search run, uniform the zero_cost dir); the
    sampling job has no proxy, the selection job (every K) samples K_max."""
    from balenas.stages.select import parse_run_dir

    try:
        return parse_run_dir(
            wildcards.space,
            wildcards.dataset,
            wildcards.run_dir,
            wildcards.selector,
            wildcards.get("proxy"),
            int(wildcards.get("k", SELECT_KS[-1] if SELECT_KS else 0)),
        )
    except ValueError as err:
        raise WorkflowError(str(err)) from None


def sample_inputs(wildcards):
    job = selection_job(wildcards)
    if job["selector"] != "tf":
        return []
    return {
        "arch": f"{RESULTS}/search/{wildcards.space}/{wildcards.dataset}/{wildcards.run_dir}/arch.pt"
    }


def select_inputs(wildcards):
    """The search run's arch.pt and genotype.json for tf (recorded in selected.json); none for uniform."""
    inputs = sample_inputs(wildcards)
    if inputs:
        inputs["genotype"] = inputs["arch"].replace("arch.pt", "genotype.json")
    return inputs


def selection_network(wildcards):
    """The scored network of the job's space (space_settings.<space>.network) and the batch size."""
    from balenas.selection_config import selection_network as network

    return network(config, wildcards.space).to_dict()


def selection_config_used(wildcards):
    """What a selection job's result depends on, recorded in selected.json."""
    return {
        "network": selection_network(wildcards),
        "data": data_params(wildcards),
        "device": config["device"],
        "threads": config["threads"],
    }


# Proxies of the configured selection jobs (a pattern that matches nothing when there are none).
PROXY_WILDCARD = "|".join(SELECT_PROXIES) or "(?!)"


def selection_report_outputs():
    if not selection_outputs():
        return []
    return expand(f"{RESULTS}/tables/selection.{{ext}}", ext=["csv", "md"])


def correlation_block():
    return config.get("proxy_correlation") or {}


def correlation_benchmark():
    """The compact NB201 table the correlation study reads (see benchmark_table); None when lookups are off."""
    tables = benchmark_table()
    return tables[0] if tables else None


def correlation_enabled():
    """The study runs when proxy_correlation.n_archs > 0 and benchmark lookups are on."""
    return (
        bool(correlation_block().get("n_archs")) and correlation_benchmark() is not None
    )


def correlation_params():
    from balenas.selection_config import correlation_config

    return correlation_config(config).to_dict()


def correlation_data_params():
    return dataset_params(correlation_block()["dataset"])


def correlation_outputs():
    """The study's output files (only meaningful when correlation_enabled())."""
    dataset = correlation_block()["dataset"]
    return {
        "scores": f"{RESULTS}/proxy_correlation/{dataset}/scores.csv",
        "metrics": f"{RESULTS}/proxy_correlation/{dataset}/metrics.json",
        "table_csv": f"{RESULTS}/tables/proxy_correlation.csv",
        "table_md": f"{RESULTS}/tables/proxy_correlation.md",
        "figures": [f for pair in correlation_figures().values() for f in pair],
    }


def correlation_figures():
    """proxy -> (png, pdf) of its scatter figure."""
    return {
        proxy: tuple(
            f"{RESULTS}/figures/proxy_correlation_{proxy}.{ext}"
            for ext in ("png", "pdf")
        )
        for proxy in correlation_params()["proxies"]
    }


def correlation_targets():
    if not correlation_enabled():
        return []
    outputs = correlation_outputs()
    return [outputs["table_csv"], outputs["table_md"], *outputs["figures"]]
