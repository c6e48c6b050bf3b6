"""The benchmark stages through Snakemake: bad benchmark files fail at parse time, an absent one turns
lookups off, and a real table (compact CSV or the official NATS-Bench archive) fills Tables 1-2."""

import json
import re
import zipfile

import pytest

from balenas.benchmarks import load_nb201_table
from balenas.stages.benchmark import lookup_genotype

from ..conftest import shared_file
from .conftest import TINY, sheet, snakemake, tiny_nb201, write_config

pytestmark = pytest.mark.workflow

TARGETS = ["results/tables/table1_nb201.md", "results/tables/table2_nb201.md"]
FIGURE = "results/figures/benchmark_acc_per_epoch_nb201_digits.png"


def _truncated_csv(tmp_path):
    text = shared_file("nb201/nb201_groundtruth.csv").read_text()
    path = tmp_path / "nb201_groundtruth.csv"
    path.write_text(text[: len(text) // 3])  # cut mid-row
    return path


def _zip_named_csv(tmp_path):
    path = tmp_path / "nb201.csv"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("nb201.csv", "index,arch\n")
    return path


def _text_file(tmp_path):
    path = tmp_path / "NAS-Bench-201.txt"
    path.write_text("not a benchmark\n")
    return path


@pytest.mark.parametrize(
    "make, problem",
    [(_truncated_csv, "truncated"), (_zip_named_csv, "zip archive"), (_text_file, "unrecognised type")],
    ids=["truncated csv", "zip named .csv", "text file"],
)
def test_corrupt_or_wrong_format_benchmark_fails_before_any_job(tmp_path, make, problem):
    bad = make(tmp_path)
    cfg = write_config(tmp_path, {**TINY, "benchmarks": {"nb201": str(bad)}}, "bad.yaml")
    res = snakemake(tmp_path, "--cores", "1", "--configfile", str(cfg))
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "benchmarks.nb201" in out and str(bad) in out and problem in out
    assert "expected a compact NAS-Bench-201 CSV" in out
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()


def test_absent_benchmark_turns_lookups_off_or_fails_when_asked(tmp_path):
    absent = tmp_path / "nowhere" / "nb201.csv"
    cfg = write_config(tmp_path, {**TINY, "benchmarks": {"nb201": str(absent), "if_missing": "error"}})
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode != 0 and f"benchmarks.nb201: {absent} not found" in res.stdout + res.stderr
    cfg = write_config(tmp_path, {**TINY, "benchmarks": {"nb201": str(absent), "if_missing": "skip"}})
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"benchmark lookups are off: {absent} not found" in res.stdout + res.stderr
    assert re.search(r"^benchmark_report\s+1$", res.stdout, re.M)
    assert not re.search(r"^lookup\s+\d+$", res.stdout, re.M)
    assert "convert_benchmark" not in res.stdout


def _table1(md: str) -> dict[str, list[str]]:
    """The first Markdown table of ``md`` (Table 1's main grid), method -> cells."""
    lines = md.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("| Method"))
    out = {}
    for line in lines[first + 2 :]:
        if not line.startswith("| "):
            break
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        out[cells[0]] = cells[1:]
    return out


def test_lookups_off_then_on_then_from_the_official_archive(tmp_path):
    """One small DAG in one directory, three benchmark settings: the search and selection jobs run once."""
    csv = shared_file("nb201/nb201_groundtruth.csv")
    nats = shared_file("nb201/nats_tss_fixture/NATS-tss-v1_0-3ffb9-simple")
    base = {
        **TINY,
        "experiments": sheet(methods=("balenas",), orders=(1,), seeds=(0,)),
        "space_settings": tiny_nb201(2),
        "search": {**TINY["search"], "epochs": 2},
        "selection": {
            "selectors": ["tf", "uniform"],
            "ks": [3],
            "proxies": ["synflow"],
            "batch_size": 16,
        },
        "report": {"table1": {"tf": {"proxy": "synflow", "k": 3}, "zero_cost": {"proxy": "synflow", "k": 3}}},
    }

    def run(benchmarks, *targets):
        cfg = write_config(tmp_path, {**base, "benchmarks": benchmarks})
        res = snakemake(tmp_path, *targets, "--cores", "2", "--configfile", str(cfg))
        assert res.returncode == 0, res.stderr[-3000:]
        return res

    # 1. absent file: everything runs, the tables say that lookups are off
    absent = tmp_path / "absent.csv"
    run({"nb201": str(absent)}, *TARGETS)
    md = (tmp_path / TARGETS[0]).read_text()
    assert f"benchmark lookups are off: {absent} not found" in md
    assert _table1(md)["BaLeNAS (1st)"][0] == "benchmark lookups are off (1 run)"
    assert _table1(md)["DARTS (1st)"][0] == "not run: darts not in the experiment sheet"
    assert "Distinct samples" in (tmp_path / TARGETS[1]).read_text()
    assert not (tmp_path / "results" / "benchmark").exists()

    # 2. the shared compact table: Table 1 holds the runs' exact lookups
    res = run({"nb201": str(csv)}, *TARGETS, FIGURE)
    assert re.search(r"^lookup\s+1$", res.stdout + res.stderr, re.M)  # one job looks everything up
    table = load_nb201_table(csv)
    rows = _table1((tmp_path / TARGETS[0]).read_text())
    assert rows["Random baseline"][:2] == ["83.69 ± 12.80", "87.06 ± 12.94"]
    assert rows["optimal"][:6] == ["91.61", "94.37", "73.49*", "73.51", "46.73*", "47.31"]
    for method, label in (("balenas", "BaLeNAS (1st)"),):
        run_dir = tmp_path / f"results/search/nb201/digits/{method}/order-1/seed-0"
        genotype = json.loads((run_dir / "genotype.json").read_text())["genotype"]
        expected = lookup_genotype(table, genotype)["values"]
        assert rows[label][1] == f"{expected['cifar10_test']:.2f} ± n/a"
        lookup = tmp_path / f"results/benchmark/search/nb201/digits/{method}/order-1/seed-0/lookup.json"
        rec = json.loads(lookup.read_text())
        assert rec["benchmark"]["sha256"] == table.sha256 and rec["genotype"] == genotype
    selected = tmp_path / "results/select/nb201/digits/balenas/order-1/seed-0/tf-synflow-k3/selected.json"
    tf = json.loads(selected.read_text())["genotype"]
    assert rows["BaLeNAS-TF"][1] == f"{lookup_genotype(table, tf)['values']['cifar10_test']:.2f} ± n/a"
    zero_cost = tmp_path / "results/select/nb201/digits/zero_cost/seed-0/uniform-synflow-k3/selected.json"
    zc = json.loads(zero_cost.read_text())["genotype"]
    assert rows["Zero-cost NAS"][0] == f"{lookup_genotype(table, zc)['values']['cifar10_valid']:.2f} ± n/a"
    assert (tmp_path / FIGURE).stat().st_size > 10_000

    # 3. the official NATS-Bench archive (3 architectures): converted once, then looked up
    run({"nb201": str(nats), "allow_partial": True}, *TARGETS)
    converted = tmp_path / "results/benchmark/nb201_table.csv"
    prov = json.loads(converted.with_name("nb201_table.csv.provenance.json").read_text())
    assert prov["n_archs"] == 3 and prov["source_kind"] == "nats-tss-dir" and len(prov["source_sha256"]) == 64
    assert len(load_nb201_table(converted)) == 3
    rows = _table1((tmp_path / TARGETS[0]).read_text())
    assert rows["Random baseline"][0] == "n/a (partial column)"
    rec = json.loads(lookup.read_text())
    assert rec["benchmark"]["converted_from"]["source_sha256"] == prov["source_sha256"]
    assert rec["benchmark"]["table"] == "results/benchmark/nb201_table.csv"
    if rec["index"] is None:  # a searched architecture outside the archive: explicit, never substituted
        assert set(rec["missing"].values()) == {"arch not in table"} and set(rec["values"].values()) == {None}
    again = snakemake(tmp_path, *TARGETS, "-n", "--configfile", str(tmp_path / "tiny.yaml"))
    assert "Nothing to be done" in again.stdout + again.stderr
