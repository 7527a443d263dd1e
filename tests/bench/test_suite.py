"""The benchmark suite end to end on a tiny ledger: every figure the report shows is measured, and the JSON, the
report and the plots are written."""

from __future__ import annotations

import json
import numbers
from pathlib import Path

import pytest
from PIL import Image

from bench import suite
from bench.suite_report import PLOTS, required_figures


@pytest.mark.slow
def test_suite_measures_every_figure_and_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "results"
    assert suite.main(["--sizes", "300", "--sqlite-only", "--out-dir", str(out), "--workdir", str(tmp_path)]) == 0

    merged = json.loads((out / "suite.json").read_text(encoding="utf-8"))
    assert list(merged["sizes"]) == ["300"]
    run = merged["sizes"]["300"]
    figures = required_figures(run)
    not_measured = {name: value for name, value in figures.items()
                    if not isinstance(value, numbers.Real) or isinstance(value, bool) or value <= 0}
    assert not_measured == {}
    assert merged["missing"] == {"300": []}
    assert "postgresql" not in run
    # The ledger of 300 synthetic entries after its genesis entry; the trees compared are over all of it.
    assert run["tree_size"] == 301
    assert run["pymerkle"]["leaves"] == 301
    assert run["verification"]["cli"]["entries"] == 301
    appended = run["sqlite"]["append"]
    assert appended["in_process"]["statements"] == appended["http"]["statements"] == 200
    assert appended["http"]["tree_size_to"] - appended["http"]["tree_size_from"] == 200
    assert run["sqlite"]["server_errors"] == []

    report = (out / "suite.md").read_text(encoding="utf-8")
    assert "## 301 entries" in report
    for name in PLOTS:
        assert f"(suite-{name}.png)" in report
        with Image.open(out / f"suite-{name}.png") as image:
            assert image.format == "PNG"
            assert image.width >= 400 and image.height >= 200
            image.verify()
    assert sorted(path.name for path in out.iterdir()) == sorted(
        ["suite-300.json", "suite.json", "suite.md", *(f"suite-{name}.png" for name in PLOTS)])
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith("suite-300-")] == []


def test_a_missing_figure_is_reported() -> None:
    run = {"tree_size": 301, "verify_rate": {"best": 9000}, "sqlite": {"public_page": {"p50_ms": 12.0}}}
    figures = required_figures(run)
    assert figures["verify_rate"] == 9000
    assert figures["sqlite.public_page.p50_ms"] == 12.0
    assert figures["sqlite.public_page.p99_ms"] is None
    assert figures["sqlite.append_http_ratio"] is None
    assert figures["pymerkle.pymerkle_sqlite.inclusion.p99_ms"] is None
