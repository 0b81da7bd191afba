"""``python -m speechbench.report.results``: a missing or unusable results file is one line naming it."""
from __future__ import annotations

import json

import pytest

from speechbench.report import results
from speechbench.report.collect import ReportError
from testutil import assert_bug_propagates, one_error_line


def test_missing_or_bad_results_are_one_line(tmp_path, capsys):
    path = tmp_path / "test_results.json"
    line = one_error_line(capsys, results.main, ["--expdir", str(tmp_path)])
    assert line == f"error: {path} not found: run the evaluation stage first"
    path.write_text("{not json")
    line = one_error_line(capsys, results.main, ["--expdir", str(tmp_path)])
    assert line.startswith(f"error: {path}: cannot read results (") and "re-run the recipe's evaluation stage" in line
    path.write_text(json.dumps({"metrics": {"test-acc": 0.5}, "upstream": "apc"}))
    with pytest.raises(ReportError, match=r"test_results.json: no 'downstream'; was it written by run_benchmark.py"):
        results.write_results(str(tmp_path))
    assert not (tmp_path / "RESULTS.md").exists()


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    assert_bug_propagates(monkeypatch, results.main, results, "write_results", ["--expdir", str(tmp_path)])
