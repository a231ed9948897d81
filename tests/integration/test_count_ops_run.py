"""``xbarsim train --count-ops`` then ``xbarsim cost --run``: per-epoch counts in metrics.jsonl, cumulative
in summary.json, identical after an interruption and resume, and the measured-vs-analytical report.

Spec: hardware-cost.md §8 (counted mode); docs/training.md (run directories); docs/cost.md.
"""
from __future__ import annotations

import json
import math

import pytest

from xbarsim.cli.main import main
from xbarsim.cost.run_compare import accumulate_epochs

TINY = ["--model", "mlp", "--limit", "48", "--test-limit", "32", "--batch-size", "16", "--threads", "1",
        "--count-ops", "--no-progress"]


def _rows(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def counted_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "straight"
    assert main(["train", *TINY, "--epochs", "2", "--out", str(run)]) == 0
    return run


def test_metrics_hold_per_epoch_counts_and_summary_the_cumulative_ones(counted_run):
    rows = _rows(counted_run)
    summary = json.loads((counted_run / "summary.json").read_text())
    assert len(rows) == 2 and all("counts" in r for r in rows)
    assert len(rows[0]["counts"]["layers"]) == 3  # 784-256-128-10, all analog
    total = summary["counts"]["total"]
    assert accumulate_epochs([r["counts"] for r in rows]) == summary["counts"]
    # three update calls per epoch (48 images, batch 16) on every layer
    assert rows[0]["counts"]["total"]["update_calls"] == 3 * len(summary["counts"]["layers"])
    assert total["update_calls"] == 2 * rows[0]["counts"]["total"]["update_calls"]
    assert total["gradient_pulse_slots"] > 0 and total["transfer_events"] > 0
    assert "count_ops: true" in (counted_run / "config.yaml").read_text()


def test_counts_resume_exactly(counted_run, tmp_path):
    run = tmp_path / "resumed"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(run)]) == 0
    assert main(["train", "--out", str(run), "--resume", "--epochs", "2", "--no-progress"]) == 0
    straight = json.loads((counted_run / "summary.json").read_text())["counts"]
    resumed = json.loads((run / "summary.json").read_text())["counts"]
    assert resumed == straight
    assert [r["counts"] for r in _rows(run)] == [r["counts"] for r in _rows(counted_run)]


def test_cost_run_reports_measured_beside_analytic(counted_run, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["cost", "--run", str(counted_run), "--layers", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for text in ("# Measured vs analytical cost", "## Measured counts (whole run)", "ADC conversions",
                 "pulse slots / sample, gradient writes", "transfer reads / sample", "## Where they differ",
                 "Gradient pulse trains", "Transfers:", "cost model: ResL (N=4)"):
        assert text in printed, text
    data = json.loads((out / "run_cost.json").read_text())
    summary = json.loads((counted_run / "summary.json").read_text())
    assert data["counts"] == summary["counts"]
    rows = {r["quantity"]: r for r in data["rows"]}
    t = summary["counts"]["total"]
    pooled = (t["gradient_pulse_slots"] + t["transfer_pulse_slots"]) / t["update_vectors"]
    assert math.isclose(rows["pulse slots / sample, all writes"]["measured"], pooled, rel_tol=1e-12)
    assert rows["pulse slots / sample, all writes"]["analytic"] == pytest.approx(10.0)  # l·n_s/(n_s − 1)
    assert data["measured_cost"]["counts_source"] == ["run"]
    assert (out / "run_cost.md").read_text().startswith("# Measured vs analytical cost")


def test_digital_run_cannot_count(tmp_path, capsys):
    with pytest.raises(ValueError, match="a digital run has none"):
        main(["train", "--algorithm", "digital", *TINY, "--epochs", "1", "--out", str(tmp_path / "d")])
