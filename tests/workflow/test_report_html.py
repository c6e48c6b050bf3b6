"""`snakemake --report` on a tiny completed run: one self-contained HTML file that embeds every table and
figure the run produced, each with a caption naming the paper's table or figure it reproduces (or saying
that it has none)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from .tiny_run import TinyRun, tiny_run

pytestmark = pytest.mark.workflow

# File-name prefix -> what its caption must name.
PAPER_ITEMS = {
    "table1_": "Table 1",
    "table2_": "Table 2",
    "benchmark_acc_per_epoch_": "Figure 1",
    "fig2_": "Figure 2",
    "fig3_": "Figure 3",
    "selection": "Table 2",
}


@pytest.fixture(scope="session")
def run(tmp_path_factory) -> TinyRun:
    return tiny_run(tmp_path_factory.mktemp("tiny-run"))


@pytest.fixture(scope="session")
def report(run) -> tuple[Path, dict]:
    html = run.work / "results" / "report.html"
    res = run.snakemake("--report", str(html))
    assert res.returncode == 0, res.stderr[-3000:]
    return html, embedded_results(html.read_text())


def embedded_results(html: str) -> dict:
    """The report's ``var results = {...}``: output path -> name, caption, data URI, ..."""
    match = re.search(r"\bvar results = (\{)", html)
    assert match, "no embedded results in the report"
    results, _ = json.JSONDecoder().raw_decode(html, match.start(1))
    return results


def produced(run: TinyRun) -> list[str]:
    return sorted(
        str(p.relative_to(run.work))
        for d in ("results/tables", "results/figures")
        for p in (run.work / d).rglob("*")
        if p.is_file()
    )


def test_report_is_one_self_contained_file(report):
    html, _ = report
    text = html.read_text()
    assert text.lstrip().lower().startswith("<!doctype html")
    # nothing is loaded from elsewhere: no external scripts, stylesheets or images
    assert not re.search(r"<(script|img)[^>]+src=[\"']?(https?:)?//", text, re.I)
    assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", text, re.I)


def test_report_embeds_every_table_and_figure(run, report):
    _, results = report
    files = produced(run)
    assert any(f.endswith(".png") for f in files) and any(f.endswith(".csv") for f in files), files
    missing = sorted(set(files) - set(results))
    assert not missing, f"tables/figures not in the report: {missing}"
    for path in files:
        data = results[path]["data_uri"]
        assert base64.b64decode(data.split(";base64,", 1)[1]) == (run.work / path).read_bytes(), path


def test_every_item_has_a_caption_naming_its_paper_counterpart(report):
    _, results = report
    for path, item in results.items():
        caption = re.sub(r"<[^>]+>", "", item["caption"])
        name = Path(path).name
        expected = next((v for k, v in PAPER_ITEMS.items() if name.startswith(k)), None)
        if expected:
            assert expected in caption, f"{path}: caption does not name {expected}: {caption[:200]}"
        else:
            assert re.search(r"no (table|figure) of the paper|Table \d|Figure \d|Section \d", caption), (
                f"{path}: caption names no paper table/figure and does not say it has none: {caption[:200]}"
            )
