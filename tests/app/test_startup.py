"""Start-up: `streamlit run app.py` serves app.py as an st.App whose lifespan opens the model and the
index in the background, so the first browser session finds them loaded."""
from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
import threading
import tomllib
from pathlib import Path

import streamlit as st
from streamlit import delta_generator
from streamlit.web.server.app_discovery import discover_asgi_app

from app_support import resources
from index.settings import Settings
from index.store import current_build
from retrieval import Assistant
from retrieval.assistant import WARM_UP_QUESTION

from .conftest import APP, ROOT, SCF_QUESTION


def test_streamlit_run_serves_app_py_as_an_app_whose_lifespan_preloads(monkeypatch):
    from streamlit.components.v2 import manifest_scanner

    monkeypatch.setattr(manifest_scanner, "scan_component_manifests", manifest_scanner.scan_component_manifests)
    found = discover_asgi_app(Path(APP))
    assert found.is_asgi_app and found.import_string == "app:app"
    spec = importlib.util.spec_from_file_location("app_served", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imported, not run as a page: no page config, no navigation
    assert isinstance(module.app, st.App)
    assert module.app._user_lifespan is resources.preload
    assert manifest_scanner.scan_component_manifests.remembers_empty  # installed before the runtime exists


def test_the_lifespan_returns_at_once_and_the_first_session_reuses_what_it_loaded(app_env, monkeypatch):
    loads = []
    real_load = Assistant.load.__func__
    monkeypatch.setattr(Assistant, "load", classmethod(lambda cls, *a, **k: loads.append(1) or real_load(cls, *a, **k)))

    async def serve():
        async with resources.preload(None):
            pass  # the server would serve here; the load goes on in the background

    switch_interval = sys.getswitchinterval()
    real_warm_up = resources.warm_up
    during = []
    monkeypatch.setattr(resources, "warm_up", lambda: during.append(sys.getswitchinterval()) or real_warm_up())
    asyncio.run(serve())
    assert delta_generator._use_warning_has_been_displayed  # Streamlit's "not run by streamlit run?" check
    [thread] = [t for t in threading.enumerate() if t.name == "letters-qa-preload"]
    thread.join(120)
    # the GIL changes hands often while the preload runs beside the server, as before once it is done
    assert during == [resources.PRELOAD_SWITCH_INTERVAL_S] < [switch_interval] == [sys.getswitchinterval()]
    assert loads == [1]
    first_session = resources.assistant(Settings.from_env())
    assert loads == [1] and first_session.documents  # the session got the preloaded Assistant


def test_without_an_index_the_preload_builds_nothing_and_leaves_the_page_to_do_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LETTERS_QA_CORPUS", str(tmp_path / "corpus"))
    monkeypatch.setenv("LETTERS_QA_INDEX", str(tmp_path / "index"))
    resources.warm_up()
    assert current_build(tmp_path / "index") is None and not (tmp_path / "index").exists()


def test_a_damaged_index_is_only_logged_by_the_preload(app_env, caplog):
    corpus, index = app_env
    build = current_build(index)
    (build / "manifest.json").write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="app_support.resources"):
        resources.warm_up()  # no exception: the page meets the problem and says what is wrong
    assert "could not open the index" in caplog.text


def test_once_the_index_is_open_the_preload_asks_one_question_so_the_first_reader_does_not_pay_for_it(
        app_env, monkeypatch):
    asked = []
    real_ask = Assistant.ask
    monkeypatch.setattr(Assistant, "ask", lambda self, question, *a, **k: asked.append(question)
                        or real_ask(self, question, *a, **k))
    resources.warm_up()
    assert asked == [WARM_UP_QUESTION]


def test_the_served_app_does_not_watch_its_source_files():
    # the watcher walks every loaded module after each script run; a served app's files do not change
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["fileWatcherType"] == "none"


def test_a_failed_warm_up_question_is_only_logged_and_the_index_stays_open(app_env, monkeypatch, caplog):
    from retrieval import QuestionError

    def refuse(self):
        raise QuestionError("the question does not look like English words the letters use")

    monkeypatch.setattr(Assistant, "warm_up", refuse)
    with caplog.at_level(logging.WARNING, logger="app_support.resources"):
        resources.warm_up()
    assert "warm-up question failed" in caplog.text and "could not open the index" not in caplog.text
    assert resources.assistant(Settings.from_env()).ask(SCF_QUESTION).answer


def test_a_session_arriving_before_the_index_is_open_sees_the_steps(app_env):
    from .conftest import new_app

    at = new_app()
    at.run()
    assert not at.exception
    assert at.session_state["startup_steps"] == ["Checking the index of letters", "Loading the language model",
                                                 "Opening the index"]
    assert at.chat_input and not at.status  # the box is gone once ready


def test_a_session_of_a_server_that_has_opened_the_index_starts_at_once_without_steps(app_env):
    from .conftest import new_app

    resources.warm_up()  # what the server's preload did before this browser arrived
    at = new_app()
    at.run()
    assert not at.exception
    assert "startup_steps" not in at.session_state and not at.status
    assert at.chat_input
