"""Statistics and generated wording, from small fake result records."""

from __future__ import annotations

import numpy as np
import pytest

from mlplab import narrative, params, report


def record(name: str, accuracies: list[float], epochs_run: int = 20, **overrides) -> dict:
    p = params.validate({"run_name": name, "seeds": list(range(len(accuracies))),
                         **overrides})
    seeds = [{"seed": i, "metrics": {"test_accuracy": a, "test_loss": 1 - a,
                                     "val_accuracy": a, "val_loss": 1 - a,
                                     "train_accuracy": a, "train_loss": 1 - a},
              "history": {}, "epochs_run": epochs_run, "best_epoch": epochs_run - 2,
              "train_seconds": 2.0, "seconds_per_epoch": 0.1}
             for i, a in enumerate(accuracies)]
    return {"name": name, "status": "ok", "params": p, "param_count": 1, "seeds": seeds}


@pytest.fixture
def df():
    return report.tidy([
        record("wide", [0.95, 0.951, 0.949], hidden_layers=[70], epochs=20),
        record("narrow", [0.90, 0.901, 0.899], hidden_layers=[30], epochs=20),
        record("noisy", [0.91, 0.96, 0.88], hidden_layers=[50], epochs=20),
        record("single", [0.93], hidden_layers=[50, 50], epochs=1),
        {"name": "broken", "status": "failed", "params": params.validate({"run_name": "broken"}),
         "error": "boom"},
    ])


def test_tidy_has_one_row_per_run_and_seed(df):
    assert len(df) == 3 + 3 + 3 + 1 + 1
    assert set(df.loc[df["run"] == "wide", "seed"]) == {0, 1, 2}
    assert df.loc[df["run"] == "broken", "status"].item() == "failed"
    assert df.loc[df["run"] == "wide", "hidden_layers"].iloc[0] == "70"


def test_resolved_difference_is_stated_with_interval(df):
    c = report.compare(df, "wide", "narrow")
    assert c.diff == pytest.approx(0.05)
    assert c.resolved and c.low > 0.04 and c.high < 0.06
    assert report.verdict(c) == "supported"
    assert report.verdict(report.compare(df, "narrow", "wide")) == "contradicted"
    text = report.sentence(c, "70 units", "30 units")
    assert "70 units is higher than 30 units by 5.0 points" in text
    assert "95.0%" in text and "90.0%" in text


def test_overlapping_intervals_are_not_resolved(df):
    c = report.compare(df, "noisy", "narrow")
    assert not c.resolved and c.low < 0 < c.high
    assert report.verdict(c) == "not resolved"
    assert "is not resolved at this number of seeds" in report.sentence(c, "50", "30")


def test_single_seed_cannot_be_judged(df):
    c = report.compare(df, "single", "narrow")
    assert not c.resolved and not np.isfinite(c.low)
    assert "single seed" in report.sentence(c, "a", "b")


def test_summary_interval_contains_mean(df):
    s = report.summarise(df).set_index("run")
    assert s.loc["wide", "seeds"] == 3
    assert s.loc["wide", "ci95_low"] < s.loc["wide", "mean"] < s.loc["wide", "ci95_high"]
    assert "broken" not in s.index


def test_claims_table_finds_runs_by_parameters(df):
    table = report.claims_table(df).set_index("claim")
    row = table.loc["70 units beat 50 (784-70-10 vs 784-50-10)"]
    assert row["runs"] == "wide vs noisy" and row["verdict"] == "not resolved"
    assert table.loc["20 epochs beat 1 (784-50-10)", "verdict"] == "not tested"


def test_runs_table_marks_failures_and_links_pages(df):
    manifest = [{"name": "wide", "status": "ok", "page": "runs/wide.html",
                 "params": params.validate({"hidden_layers": [70], "seeds": [0, 1, 2]})},
                {"name": "broken", "status": "failed", "page": None, "error": "boom <x>",
                 "params": params.validate({})}]
    html = report.runs_table_html(manifest, df)
    assert "<a href='runs/wide.html'>wide</a>" in html and "95.0% ± 0.1" in html
    assert "FAILED</b> boom &lt;x&gt;" in html


def test_narrative_follows_the_parameters():
    from mlplab import data

    ds = data.load("mnist-5k")
    for test_fraction, scale in ((0.3, True), (0.2, False)):
        p = params.validate({"test_fraction": test_fraction, "scale_inputs": scale})
        split = data.split(ds, p["test_fraction"], p["validation_fraction"])
        text = narrative.data_paragraph(ds, split, p)
        assert f"**{len(split.test):,} test** ({100 * test_fraction:.1f}%)" in text
        assert ("divided by 255" in text) == scale
    text = narrative.model_paragraph(params.validate({"hidden_layers": [30]}), 23_860)
    assert "784-30-10" in text and "**23,860 parameters**" in text and "matches" in text


def test_assignment_mistakes_are_generated_from_runs():
    df = report.tidy([
        record("ce", [0.92, 0.93, 0.925], hidden_layers=[50, 50], epochs=20),
        record("raw", [0.80, 0.85, 0.83], hidden_layers=[50, 50], epochs=20,
               scale_inputs=False),
        record("stop", [0.91, 0.90, 0.92], hidden_layers=[50, 50], epochs=50,
               early_stopping_patience=2, epochs_run=8),
    ])
    items = report.assignment_mistakes(df)
    text = "\n".join(items)
    assert "Pixels scaled to [0, 1] is higher than raw 0–255 by 9.8 points" in text
    assert "stopped after 8.0 epochs" in text and "epoch 6.0" in text
    assert "varies by up to 5.0 points (run `raw`" in text
    assert f"as small as {100 * report.smallest_claimed_gap():.1f} points" in text
    assert not any("µs/step" in item for item in items)  # no width runs: no claim made


def test_loss_section_says_which_learned_and_which_stalled():
    df = report.tidy([
        record("ce", [0.92, 0.93, 0.925], hidden_layers=[50, 50], epochs=20),
        record("mse", [0.921, 0.926, 0.93], hidden_layers=[50, 50], epochs=20,
               loss="mean_squared_error"),
        record("mse-raw", [0.10, 0.10, 0.11], hidden_layers=[50, 50], epochs=20,
               loss="mean_squared_error", scale_inputs=False),
    ])
    variants, lines = report.loss_section(df, report.summarise(df), n_classes=10)
    assert variants == {"cross-entropy, scaled inputs": "ce", "MSE, scaled inputs": "mse",
                        "MSE, raw inputs": "mse-raw"}
    text = "\n".join(lines)
    assert "**MSE, raw inputs**: 10.3% test accuracy; it stayed at chance level" in text
    assert "**cross-entropy, scaled inputs**: 92.5% test accuracy; it learned" in text
    assert "not resolved" in text and "the two losses end close" in text
