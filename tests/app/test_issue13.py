"""The chat as staff use it (issue 13): one test per numbered problem, through AppTest.

What needs a real browser (page names in the navigation, the toolbar, no request leaving
127.0.0.1, the phone-width view) is in test_browser.py.
"""
from __future__ import annotations

import json
import re
import shutil
import tomllib

import pytest

from .conftest import GMCA, ROOT, SCF_QUESTION, WY, all_text, new_app

SCORE = re.compile(r"(?<![\d.])[01]\.\d{2}(?!\d)")  # "0.94", "1.00": a raw score figure


def _ask(at, question: str):
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state["history"][-1]


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def _popover(at, label: str):
    return next(n for n in _walk(at._tree) if getattr(getattr(n, "proto", None), "popover", None)
                and n.proto.popover.label == label)


# 1. markup shown to users -------------------------------------------------------------------------
def test_1_markup_is_removed_from_answers_quotes_and_letters_but_json_keeps_the_canonical_quote(app_env):
    at = new_app()
    at.run()
    msg = _ask(at, "What date is on the GMCA letter about the Prevent inspection?")
    answer = msg["answer"]
    assert answer.citations[0].source == GMCA and "<sup>" in answer.citations[0].quote  # canonical, as in JSON
    shown = all_text(at)
    assert "**4th May 2020**" in shown and ":orange-background[4th May 2020]" in shown
    assert "sup\\>" not in shown and "\\*\\*" not in shown
    at.button(key="open-1-c0").click().run()
    letter = all_text(at)
    assert "Dear Home Secretary" in letter and "Cited passage, in context" in letter
    for raw in ("\\*\\*Dear", "\\<sup\\>", "sup\\>", "\\*\\*"):
        assert raw not in letter
    exported = json.loads(at.session_state["export_json_text"])
    assert "<sup>" in exported["conversation"][0]["citations"][0]["quote"]


# 2. confidence that misleads ----------------------------------------------------------------------
def test_2_confidence_in_words_no_raw_scores_and_follow_ups_use_the_previous_letter(app_env):
    at = new_app()
    at.run()
    first = _ask(at, "What did Greater Manchester say about training?")
    assert first["answer"].citations[0].source == GMCA
    follow = _ask(at, "And who signed it?")
    assert follow["answer"].answer == "Baroness Beverley Hughes"  # not West Yorkshire's signatory
    assert follow["bound_letter"] == GMCA
    assert any("letter of the previous answer" in c.value and "gmca" in c.value for c in at.caption)

    wrong_kind = _ask(at, "What date was the Greater Manchester letter written?")
    if wrong_kind["answer"].answer_type not in ("field:date", "date"):  # not a date, for a date question
        assert wrong_kind["words"] != "Found in the letter"
    nonsense = _ask(at, "What is the capital of France?")
    assert nonsense["answer"].abstained and nonsense["words"] == "Not in the letters"
    assert not nonsense["show_closest"]  # no unrelated "closest passages" for an unrelated question
    text = all_text(at)
    assert "Found in the letter" in text and "Not in the letters" in text
    assert not SCORE.findall(text), SCORE.findall(text)
    assert "score" not in text.lower() and "confidence:" not in text.lower()


# 3. compare table -------------------------------------------------------------------------------------
@pytest.mark.xfail(strict=True, reason="the fitted answer model (retrieval/answer_model.json) does not yet meet this: its low threshold (<= 8% false abstentions) answers the other letter's row; see the ranker branch report")
def test_3_compare_shows_answer_first_quote_on_expand_and_opens_each_row(app_env):
    at = new_app()
    at.run()
    at.toggle(key="compare_mode").set_value(True).run()
    msg = _ask(at, SCF_QUESTION)
    rows = msg["rows"]
    assert [r["letter"] for r in rows] == [WY, GMCA]  # answered first
    assert "£6k" in rows[0]["answer"] and rows[1]["answer"] == "not answered"
    assert not at.dataframe  # no wide table pushing the answer off-screen
    markdown = [m.value for m in at.markdown]
    assert any(m.startswith("**£6k**") for m in markdown)
    assert [e.label for e in at.expander if e.label == "Quote"] == ["Quote"]  # the quote, in full, on expand
    assert at.button(key="open-1-r1").disabled  # nothing to open in a letter that does not answer
    at.button(key="open-1-r0").click().run()
    assert "Cited passage, in context" in all_text(at) and "£6k" in all_text(at)
    assert "Download as CSV" in [b.proto.label for b in at.get("download_button")]


# 4. slow, silent start ------------------------------------------------------------------------------
def test_4_start_up_shows_steps_indexing_moves_per_batch_and_the_notice_goes(tmp_path, monkeypatch):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    monkeypatch.setenv("LETTERS_QA_CORPUS", str(corpus))
    monkeypatch.setenv("LETTERS_QA_INDEX", str(index))
    monkeypatch.setenv("LETTERS_QA_BATCH_SIZE", "16")
    at = new_app()
    at.run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    steps = at.session_state["startup_steps"]
    assert steps[0] == "Checking the index of letters" and steps[-2:] == ["Loading the language model",
                                                                          "Opening the index"]
    assert any(s.startswith("No index yet") for s in steps)
    embedding = [(done, total) for stage, done, total in at.session_state["build_progress"] if stage == "embedding"]
    total = embedding[-1][1]
    assert len(embedding) == -(-total // 16) and all(b - a <= 16 for (a, _), (b, _) in zip(embedding, embedding[1:]))
    assert not at.status and "No index yet" not in all_text(at)  # the start-up box is gone once ready
    at.run()
    assert at.session_state["startup_steps"] == steps  # later reruns start at once, no steps again


# 5. uploads ----------------------------------------------------------------------------------------
def test_5_duplicates_sorted_letters_one_size_limit_and_removal(app_env):
    corpus, index = app_env
    from index.settings import Settings

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    limit = config["server"]["maxUploadSize"]
    assert limit == Settings().max_file_mb
    at = new_app()
    at.run()
    assert any(f"up to {limit:g} MB each" in c.value for c in at.caption)
    labels = [e.label for e in at.sidebar.expander]
    assert labels[:2] == ["2020\\-06\\-19 · Mark Burns\\-Williamson · west\\-yorkshire\\-pcc\\-2020\\-06\\-19\\-prevent\\-response\\.txt",
                          "2020\\-05\\-04 · Baroness Beverley Hughes · gmca\\-2020\\-05\\-04\\-prevent\\-response\\.txt"]

    at.file_uploader(key="uploader-0").set_value([("copy-of-wy.txt", (corpus / WY).read_bytes(), "text/plain")])
    at.run()
    at.button(key="add_letters").click().run()
    assert not at.exception
    report = at.session_state["upload_report"]
    assert report["saved"] == [] and report["rejected"] == [f"copy-of-wy.txt: the same letter is already in the letters as {WY}"]
    assert not (corpus / "uploads").exists()
    at.run()  # the message stays until something else happens
    assert any("already in the letters" in e.value for e in at.sidebar.error)

    at.button(key=f"remove-{GMCA}").click().run()
    at.button(key=f"remove-yes-{GMCA}").click().run()
    assert not at.exception
    assert not (corpus / GMCA).exists() and len(list((index / "removed-letters").iterdir())) == 1
    assert "1 letter, newest first" in all_text(at)
    msg = _ask(at, "What did Greater Manchester say about training?")
    assert all(c.source != GMCA for c in msg["answer"].citations)


def test_5_changing_the_letters_needs_the_admin_passphrase(app_env, monkeypatch):
    monkeypatch.setenv("LETTERS_QA_ADMIN_PASSPHRASE", "correct horse")
    at = new_app()
    at.run()
    assert not at.file_uploader and not [b for b in at.button if b.key and b.key.startswith("remove-")]
    at.text_input(key="admin_passphrase").input("wrong").run()
    assert any("not right" in e.value for e in at.sidebar.error) and not at.file_uploader
    at.text_input(key="admin_passphrase").input("correct horse").run()
    assert at.file_uploader(key="uploader-0") and at.button(key=f"remove-{GMCA}")


# 6. limits and wording ------------------------------------------------------------------------------
def test_6_limits_wording_examples_copy_export_and_confirmed_clearing(app_env):
    corpus, index = app_env
    from retrieval.assistant import MAX_QUESTION_CHARS

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["toolbarMode"] == "minimal" and config["server"]["address"] == "127.0.0.1"
    at = new_app()
    at.run()
    assert at.chat_input[0].proto.max_chars == MAX_QUESTION_CHARS
    at.button(key="example-0").click().run()  # the example questions are buttons
    msg = at.session_state["history"][-1]
    assert at.session_state["history"][0]["text"] == SCF_QUESTION and "£6k" in msg["answer"].answer
    assert any("£6k" in c.value and "Q: " + SCF_QUESTION in c.value for c in at.code)  # the copy button's text
    text = all_text(at)
    for path in (corpus, index, corpus.resolve(), "/tmp/"):
        assert str(path) not in text
    for jargon in ("chunks", "sentences", "reused", "score"):
        assert jargon not in text.lower()
    citation = next(c.value for c in at.caption if "Mark Burns" in c.value)
    assert citation.count("2020\\-06\\-19") == 1
    exported = json.loads(at.session_state["export_json_text"])
    assert "£6k" in exported["conversation"][0]["answer"] and exported["conversation"][0]["citations"]
    assert "£6k" in at.session_state["export_markdown_text"]
    clear = _popover(at, "New conversation")
    assert any(getattr(n, "key", None) == "new_conversation" for n in _walk(clear))  # behind a confirmation
    at.button(key="new_conversation").click().run()
    assert at.session_state["history"] == []


# 7. benchmark page ----------------------------------------------------------------------------------
def test_7_benchmark_runs_on_its_own_copy_of_the_shipped_letters(tmp_path):
    from app_support.benchmark_page import benchmark_command, benchmark_index_dir, shipped_corpus
    from index.settings import Settings

    source = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", source)
    (source / "uploads").mkdir()
    (source / "uploads" / "new.txt").write_text("Dear Sir, an upload.", encoding="utf-8")
    private = shipped_corpus(source, tmp_path / "bench-corpus")
    assert sorted(p.name for p in private.iterdir()) == sorted([WY, GMCA])
    settings = Settings(index_dir=tmp_path / "live-index")
    index = benchmark_index_dir(settings)
    assert index != settings.index_dir and index.parent == settings.index_dir.parent
    command = benchmark_command(tmp_path / "report", private, index, False)
    assert command[command.index("--corpus") + 1] == str(private)
    assert command[command.index("--index-dir") + 1] == str(index)


def _benchmark_page():
    from app_support.benchmark_page import main

    main()


def test_7_benchmark_page_explains_metrics_and_needs_the_passphrase(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    metrics = {"n": 2, "correct": 0.5, "containment": 0.5, "f1": 0.4, "recall@5": 1.0, "mrr": 0.75}
    results = {"created": "2026-01-01T00:00:00", "split": "all", "systems": {"full": {"metrics": metrics,
                                                                                      "records": []}}}
    (tmp_path / "results.json").write_text(json.dumps(results), encoding="utf-8")
    monkeypatch.setenv("LETTERS_QA_BENCH_REPORT", str(tmp_path))
    monkeypatch.setenv("LETTERS_QA_ADMIN_PASSPHRASE", "pass")
    at = AppTest.from_function(_benchmark_page, default_timeout=30)
    at.run()
    assert not at.exception
    assert all(m.help for m in at.metric) and {m.label for m in at.metric} >= {"MRR", "Recall@5", "Token F1"}
    assert not [b for b in at.button if b.key == "bench_run"]  # no passphrase given: no run button
    at.text_input(key="admin_passphrase").input("pass").run()
    assert at.button(key="bench_run")


def test_7_a_benchmark_run_scores_the_shipped_letters_and_leaves_the_live_index_alone(app_env, tmp_path,
                                                                                         monkeypatch):
    from streamlit.testing.v1 import AppTest

    corpus, index = app_env
    (corpus / "uploads").mkdir()
    (corpus / "uploads" / "extra.txt").write_text("Dear Sir,\n\nThe Safer Communities Fund offers £9m.\n",
                                                  encoding="utf-8")
    live = (index / "CURRENT").read_text(encoding="utf-8")
    monkeypatch.setenv("LETTERS_QA_BENCH_REPORT", str(tmp_path / "report"))
    at = AppTest.from_function(_benchmark_page, default_timeout=600)
    at.run()
    at.button(key="bench_run").click().run()
    assert not at.exception and [s.value for s in at.success] == ["Benchmark finished."], [e.value for e in at.error]
    results = json.loads((tmp_path / "report" / "results.json").read_text(encoding="utf-8"))
    assert results["index_dir"] == str(index.with_name(index.name + "-benchmark"))
    assert sorted(p.name for p in (index.with_name(index.name + "-benchmark-corpus")).iterdir()) == sorted([WY, GMCA])
    assert (index / "CURRENT").read_text(encoding="utf-8") == live  # the live index was not rebuilt
    assert {m.label for m in at.metric} >= {"Correct", "MRR"}
    assert str(index) not in "\n".join(c.value for c in at.code)  # no server paths in the run's output


def test_thumbs_are_stored_beside_the_index_and_exported_as_candidate_questions(app_env):
    from eval.feedback import FeedbackStore, candidate_questions, feedback_path

    corpus, index = app_env
    at = new_app()
    at.run()
    _ask(at, SCF_QUESTION)
    _ask(at, "What is the capital of France?")
    at.feedback(key=f"rate-{at.session_state['history'][1]['answer_id']}").set_value(0).run()  # 👎
    assert not at.exception
    records = FeedbackStore(feedback_path(index)).records()
    assert [(r.asked, r.rating, r.abstained) for r in records] == [(SCF_QUESTION, -1, False),
                                                                  ("What is the capital of France?", None, True)]
    assert [c["question"] for c in candidate_questions(records)] == [SCF_QUESTION, "What is the capital of France?"]
