"""Smoke test of the performance benchmark (bench/measure.py): every figure is present in the result
JSON, and a no-op rebuild embeds nothing. No timing assertions — timings on a shared machine vary."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import app_cold, measure
from bench.__main__ import main


PHASES = ("build", "noop", "add_one", "query", "cli", "cold", "recall")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-out")
    cache = tmp_path_factory.mktemp("bench-cache")
    assert main(["--sizes", "2,20", "--out", str(out), "--cache", str(cache), "--queries", "4",
                 "--bare-sample", "50", "--cli-runs", "1", "--phases", ",".join(PHASES)]) == 0
    doc = json.loads((out / "results.json").read_text())
    return out, doc


@pytest.mark.slow
def test_every_figure_is_reported_at_each_size(results):
    out, doc = results
    assert [r["size"] for r in doc["results"]] == [2, 20]
    for result in doc["results"]:
        assert measure.missing_figures(result, PHASES) == [], result["size"]
    assert {"nproc", "cpu", "ram_gb"} <= set(doc["machine"])
    assert (out / "latency.png").stat().st_size > 0 and (out / "build.png").stat().st_size > 0
    assert (out / "table.txt").read_text().count("\n") > 20


@pytest.mark.slow
def test_noop_rebuild_embeds_nothing_and_adding_a_letter_embeds_only_its_text(results):
    _, doc = results
    for result in doc["results"]:
        assert result["noop"]["noop"] is True
        assert result["noop"]["texts_embedded"] == 0
        assert 0 < result["add_one"]["texts_embedded"] <= result["add_one"]["letter_texts"]
        assert result["add_one"]["documents"] == result["build"]["documents"] + 1
        assert result["build"]["texts_embedded"] > 0
        assert result["build"]["bare_texts"] > 0


def test_synthetic_questions_are_deterministic():
    assert measure.questions_for(20, 5) == measure.questions_for(20, 5)
    assert len(measure.questions_for(20, 5)) == 5
    assert measure.percentile([1, 2, 3, 4], 50) == 2.5


@pytest.mark.slow
def test_the_targets_are_measured_side_by_side(tmp_path):
    out = tmp_path / "out"
    assert main(["--sizes", "2", "--out", str(out), "--cache", str(tmp_path / "cache"), "--queries", "3",
                 "--cli-runs", "1", "--rounds", "1", "--app-runs", "1", "--phases", "targets"]) == 0
    result = json.loads((out / "results.json").read_text())["results"][0]
    assert measure.missing_figures(result, ["targets"]) == []
    targets = result["targets"]
    assert set(targets["met"]) == set(measure.TARGETS)
    assert targets["fp32_answers_identical"] == "3/3" and targets["fp32_max_abs_diff"] < 1e-5
    assert targets["int8_same_answer"].endswith("/3") and targets["int8_batch_texts_per_s"] > 0
    assert "ask / bare ST" in (out / "table.txt").read_text()
    if Path(app_cold.CHROMIUM).exists():  # the app restart in a browser, side by side with the rest
        assert 0 < targets["app_ready_s"] < targets["app_cold_start_s"]
        assert "app 1st answer s" in (out / "table.txt").read_text()
