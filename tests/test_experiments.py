import pytest

from balenas.experiments import Experiment, SheetError, experiments_of

ROWS = [
    {"space": "nb201", "dataset": "digits", "method": "darts", "orders": [1, 2], "seeds": [0, 1]},
    {"space": "nb201", "dataset": "digits", "method": "balenas", "orders": [1], "seeds": [3],
     "selectors": ["tf", "uniform"]},
]
TSV = (
    "space\tdataset\tmethod\torders\tseeds\tselectors\n"
    "nb201\tdigits\tdarts\t1,2\t0,1\t\n"
    "nb201\tdigits\tbalenas\t1\t3\ttf,uniform\n"
)


def test_tsv_sheet_reads_as_the_inline_rows(tmp_path):
    (tmp_path / "sheet.tsv").write_text(TSV)
    from_tsv = experiments_of({"experiments": "sheet.tsv"}, tmp_path)
    assert from_tsv == experiments_of({"experiments": ROWS})
    assert from_tsv[1] == Experiment("nb201", "digits", "balenas", (1,), (3,), ("tf", "uniform"))


def test_an_edited_sheet_is_read_again(tmp_path):
    """Planning parses a sheet once; an edit (of the TSV file or of the inline rows) must still show."""
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(TSV)
    assert [e.seeds for e in experiments_of({"experiments": "sheet.tsv"}, tmp_path)] == [(0, 1), (3,)]
    sheet.write_text(TSV.replace("\t3\t", "\t3,4\t"))
    assert [e.seeds for e in experiments_of({"experiments": "sheet.tsv"}, tmp_path)] == [(0, 1), (3, 4)]
    rows = [dict(r) for r in ROWS]
    assert experiments_of({"experiments": rows})[0].orders == (1, 2)
    rows[0]["orders"] = [2]
    assert experiments_of({"experiments": rows})[0].orders == (2,)


def test_a_bad_sheet_fails_on_every_call(tmp_path):
    bad = [{**ROWS[0], "seeds": []}]
    for _ in range(2):
        with pytest.raises(SheetError, match=r"experiments\[0\].seeds: expected a non-empty list"):
            experiments_of({"experiments": bad})
    for _ in range(2):
        with pytest.raises(SheetError, match="sheet file .*missing.tsv not found"):
            experiments_of({"experiments": "missing.tsv"}, tmp_path)


def test_callers_cannot_change_the_parsed_sheet():
    first = experiments_of({"experiments": ROWS})
    first.clear()
    assert len(experiments_of({"experiments": ROWS})) == 2
