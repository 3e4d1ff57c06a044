"""The app restart benchmark (bench/app_cold.py): a real `streamlit run app.py` timed in Chromium.
Figures only — no timing is asserted (the machine is shared)."""
from __future__ import annotations

import shutil

import pytest

from bench import app_cold
from index.store import current_build


@pytest.mark.browser
def test_a_restart_is_timed_to_the_chat_and_to_the_first_answer(shipped_settings, tmp_path):
    if not app_cold.Path(app_cold.CHROMIUM).exists():
        pytest.skip(f"{app_cold.CHROMIUM} not installed")
    pytest.importorskip("playwright.sync_api")
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(shipped_settings.corpus_dir, corpus)
    shutil.copytree(shipped_settings.index_dir, index)
    build = current_build(index).name
    result = app_cold.measure(corpus, index, "What grants does the Safer Communities Fund offer?", runs=1)
    run = result["app_all"][0]
    assert 0 < run["healthy_s"] < run["page_loaded_s"] <= run["first_element_s"] <= run["ready_s"] < run["first_answer_s"]
    assert 0 < run["server_cpu_healthy_s"] <= run["server_cpu_ready_s"] <= run["server_cpu_s"]
    assert result["app_first_answer_s"] == run["first_answer_s"]
    assert current_build(index).name == build  # a restart over a built index never rebuilds it


def test_an_index_that_is_not_built_is_refused_before_any_browser_starts(tmp_path):
    with pytest.raises(RuntimeError, match="no index"):
        app_cold.measure(tmp_path, tmp_path / "index", "Who signed it?", runs=1)
