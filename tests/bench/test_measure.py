"""Smoke test of the performance benchmark (bench/measure.py): every figure is present in the result
JSON, and a no-op rebuild embeds nothing. No timing assertions — timings on a shared machine vary."""
from __future__ import annotations

import json

import pytest

from bench import measure
from bench.__main__ import main


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-out")
    cache = tmp_path_factory.mktemp("bench-cache")
    assert main(["--sizes", "2,20", "--out", str(out), "--cache", str(cache), "--queries", "4",
                 "--bare-sample", "50", "--cli-runs", "1"]) == 0
    doc = json.loads((out / "results.json").read_text())
    return out, doc


def test_every_figure_is_reported_at_each_size(results):
    out, doc = results
    assert [r["size"] for r in doc["results"]] == [2, 20]
    for result in doc["results"]:
        assert measure.missing_figures(result) == [], result["size"]
    assert {"nproc", "cpu", "ram_gb"} <= set(doc["machine"])
    assert (out / "latency.png").stat().st_size > 0 and (out / "build.png").stat().st_size > 0
    assert (out / "table.txt").read_text().count("\n") > 20


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
