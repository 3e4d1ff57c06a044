"""The Streamlit app driven through streamlit.testing.v1.AppTest (tmp corpus + tmp index each)."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

from .conftest import GMCA, ROOT, SCF_QUESTION, WY, all_text, new_app


def _ask(at, question: str):
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _last(at) -> dict:
    return at.session_state["history"][-1]


def test_ask_shows_cited_answer_with_highlight_and_confidence(app_env):
    at = new_app()
    at.run()
    assert not at.exception
    _ask(at, SCF_QUESTION)
    msg = _last(at)
    assert msg["kind"] == "answer" and not msg["answer"].abstained
    cited = [c.source for c in msg["answer"].citations]
    assert cited and cited[0] == WY
    text = all_text(at)
    assert "£6k" in text  # in the cited sentence or the rest of its paragraph, shown under it
    assert ":orange-background[" in text  # the key span is highlighted
    assert "Mark Burns\\-Williamson" in text and "2020\\-06\\-19" in text  # sender and date, escaped
    # the answer's calibrated confidence in words (the fitted model puts this one in a band, not "not found")
    assert "Found in the letter" in text or "Possible answer — check the source" in text
    # the citation opens the source viewer with the passage highlighted in context
    opener = next(b for b in at.button if b.key == "open-1-c0")
    opener.click().run()
    assert not at.exception
    assert "Cited passage, in context" in all_text(at)
    assert any(":blue-background[" in m.value or ":orange-background[" in m.value for m in at.markdown)


def test_follow_up_is_interpreted(app_env):
    at = new_app()
    at.run()
    _ask(at, "What did West Yorkshire say about training?")
    _ask(at, "and what about Greater Manchester?")
    msg = _last(at)
    assert msg["interpreted"] == "What did Greater Manchester say about training?"
    assert any(c.value.startswith("Interpreted as: What did Greater Manchester") for c in at.caption)
    at.button(key="new_conversation").click().run()
    assert at.session_state["history"] == [] and at.session_state["last_question"] is None


@pytest.mark.parametrize("first, letter, back_reference", [
    ("What did West Yorkshire say about training?", WY, "When was this letter written?"),
    ("What did Greater Manchester say about training?", GMCA, "Who did she write to?"),
    ("What did Greater Manchester say about training?", GMCA, "What do they ask the Home Secretary for?"),
])
def test_pronouns_and_the_letter_refer_to_the_letter_of_the_previous_answer(app_env, first, letter,
                                                                             back_reference):
    at = new_app()
    at.run()
    _ask(at, first)
    assert _last(at)["answer"].citations[0].source == letter
    _ask(at, back_reference)
    msg = _last(at)
    assert msg["bound_letter"] == letter
    assert {c.source for c in msg["answer"].citations} <= {letter}
    _ask(at, "Who signed the letter from " + ("Greater Manchester?" if letter == WY else "West Yorkshire?"))
    assert _last(at)["bound_letter"] is None  # a question that names a letter stands alone


def test_off_topic_question_abstains_with_closest_passages(app_env):
    at = new_app()
    at.run()
    _ask(at, "What is the capital of France?")
    msg = _last(at)
    assert msg["answer"].abstained
    text = all_text(at)
    assert "The letters don't answer this question." in text and "Not in the letters" in text
    assert not at.expander or all("Closest passages" not in e.label for e in at.expander)  # nothing related


@pytest.mark.parametrize("question", ["   ", "x" * 3000, "??? !!! 123"])
def test_bad_question_gets_a_friendly_message(app_env, question):
    at = new_app()
    at.run()
    _ask(at, question)
    msg = _last(at)
    assert msg["kind"] == "error"
    assert msg["text"].startswith("I can't answer that as asked: the question")
    assert any(w.value.startswith("I can\\'t answer that as asked") for w in at.warning)
    assert "Traceback" not in all_text(at)


def test_letter_filter_restricts_the_letters(app_env):
    at = new_app()
    at.run()
    at.multiselect(key="f_letters").set_value([GMCA]).run()
    _ask(at, SCF_QUESTION)
    answer = _last(at)["answer"]
    sources = {c.source for c in answer.citations} | {p.source for p in answer.passages}
    assert sources == {GMCA}
    assert "Searched 1 of 2 letters" in all_text(at) or answer.abstained


def test_date_and_sender_filters(app_env):
    at = new_app()
    at.run()
    at.checkbox(key="f_use_dates").check().run()
    at.date_input(key="f_dates").set_value((dt.date(2020, 6, 1), dt.date(2020, 12, 31))).run()
    _ask(at, "What grants are offered?")
    answer = _last(at)["answer"]
    assert {p.source for p in answer.passages} == {WY}
    at.checkbox(key="f_use_dates").uncheck().run()
    at.selectbox(key="f_sender").set_value("Baroness Beverley Hughes").run()
    _ask(at, "What grants are offered?")
    assert {p.source for p in _last(at)["answer"].passages} == {GMCA}


def test_upload_good_and_bad_files(app_env):
    corpus, index = app_env
    before = sorted(p.name for p in corpus.iterdir())
    at = new_app()
    at.run()
    good = ("Dear Home Secretary,\n\nThe Riverton Custody Fund offers grants of up to £25,000 to community "
            "projects that support detainees after release.\n\nYours sincerely\n\nJane Holloway\n"
            "Police and Crime Commissioner for Riverton\n").encode()
    at.file_uploader(key="uploader-0").set_value([("../riverton.txt", good, "text/plain"),
                                                ("junk.pdf", b"\x00\xff\x13\x37" * 512, "application/pdf")])
    at.run()
    at.button(key="add_letters").click().run()
    assert not at.exception, [e.value for e in at.exception]
    report = at.session_state["upload_report"]
    assert report["saved"] == ["uploads/riverton.txt"]
    assert report["rejected"] == ["junk.pdf: named .pdf but the content is binary data"]
    assert any("uploads/riverton\\.txt" in s.value for s in at.success)  # shown escaped
    assert any("junk\\.pdf" in e.value and "binary data" in e.value for e in at.error)
    assert sorted(p.name for p in (corpus / "uploads").iterdir()) == ["riverton.txt"]
    assert sorted(p.name for p in corpus.iterdir()) == sorted(before + ["uploads"])  # nothing lost
    assert "3 letters, newest first" in all_text(at)
    _ask(at, "What does the Riverton Custody Fund offer?")
    assert _last(at)["answer"].citations[0].source == "uploads/riverton.txt"
    _ask(at, SCF_QUESTION)
    assert _last(at)["answer"].citations[0].source == WY  # the old letters still answer


def test_untrusted_letter_text_is_rendered_escaped(app_env):
    corpus, _ = app_env
    (corpus / "evil.md").write_text(
        "Dear Sir,\n\nThe Zephyr Lantern Programme pays **x** to <script>alert(1)</script> every "
        "[click here](http://evil.example) volunteer.\n\nYours faithfully\n\nEve Mallory\n"
        "Commissioner for Nowhere\n", encoding="utf-8")
    at = new_app()
    at.run()
    at.sidebar.button(key="reindex").click().run()
    _ask(at, "What does the Zephyr Lantern Programme pay?")
    answer = _last(at)["answer"]
    assert answer.citations and answer.citations[0].source == "evil.md"
    at.button(key="open-1-c0").click().run()
    rendered = "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)
    # markup removed for display (index.markup), the words left escaped: nothing is interpreted (read
    # without the highlight of the answer span and its sentence, wherever the answer model puts them)
    unhighlighted = re.sub(r"(?<!\\)\]", "", re.sub(r":[a-z]+-background\[", "", rendered))
    assert "pays x to alert\\(1\\) every click here volunteer" in unhighlighted
    assert "<script>" not in rendered and "**x**" not in rendered and "](http" not in rendered


def test_first_run_builds_the_index_with_progress(tmp_path, monkeypatch):
    corpus, index = tmp_path / "corpus", tmp_path / "empty-index"
    shutil.copytree(ROOT / "corpus", corpus)
    index.mkdir()
    monkeypatch.setenv("LETTERS_QA_CORPUS", str(corpus))
    monkeypatch.setenv("LETTERS_QA_INDEX", str(index))
    at = new_app()
    at.run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    assert (index / "CURRENT").is_file()
    text = all_text(at)
    assert "2 letters indexed" in text and "2 letters, newest first" in text
    stages = at.session_state["build_progress"]  # the st.progress bar was driven by build_index's callback
    assert {"reading", "chunking", "embedding"} <= {stage for stage, _, _ in stages}
    assert stages[-1][1] == stages[-1][2]
    _ask(at, SCF_QUESTION)
    assert _last(at)["answer"].citations[0].source == WY


def test_empty_corpus_explains_and_offers_upload(tmp_path, monkeypatch):
    (tmp_path / "corpus").mkdir()
    monkeypatch.setenv("LETTERS_QA_CORPUS", str(tmp_path / "corpus"))
    monkeypatch.setenv("LETTERS_QA_INDEX", str(tmp_path / "index"))
    at = new_app()
    at.run(timeout=60)
    assert not at.exception
    assert any("no letters to answer from yet" in e.value for e in at.error)
    assert at.file_uploader(key="uploader-0")


def _benchmark_page():
    from app_support.benchmark_page import main

    main()


def test_benchmark_page_shows_results_failures_first(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    records = [{"id": "q1", "question": "Good?", "category": "amount", "answerable": True, "answers": ["£6k"],
                "answer": "grants up to £6k", "abstained": False, "confidence": 0.9, "correct": True,
                "latency_ms": 10.0, "error": None},
               {"id": "q2", "question": "Bad?", "category": "date", "answerable": True, "answers": ["May"],
                "answer": None, "abstained": True, "confidence": 0.1, "correct": False, "latency_ms": 12.0,
                "error": None}]
    metrics = {"n": 2, "correct": 0.5, "containment": 0.5, "f1": 0.4, "recall@5": 1.0, "mrr": 0.75,
               "p50_ms": 11.0, "by_category": {"amount": {"correct": 1.0, "recall@5": 1.0},
                                               "date": {"correct": 0.0, "recall@5": 1.0}}}
    results = {"created": "2026-01-01T00:00:00", "split": "all",
               "systems": {"full": {"metrics": metrics, "records": records},
                           "bm25-only": {"metrics": metrics, "records": records}}}
    (tmp_path / "results.json").write_text(json.dumps(results), encoding="utf-8")
    monkeypatch.setenv("LETTERS_QA_BENCH_REPORT", str(tmp_path))
    at = AppTest.from_function(_benchmark_page, default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert {"Correct", "Answer contains gold", "MRR"} <= {m.label for m in at.metric}
    frame = at.dataframe[0].value
    assert list(frame["id"]) == ["q2", "q1"]  # failures first
    assert len(at.get("arrow_vega_lite_chart")) >= 1 or len(at.get("vega_lite_chart")) >= 1


def test_two_sessions_at_once_get_independent_answers(app_env):
    import threading

    first, second = new_app(), new_app()
    first.run()
    second.run()
    questions = {id(first): SCF_QUESTION, id(second): "What is the capital of France?"}
    errors = []

    def ask(at):
        try:
            at.chat_input[0].set_value(questions[id(at)]).run()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(at,)) for at in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    one, two = first.session_state["history"], second.session_state["history"]
    assert [m.get("text") for m in one if m["role"] == "user"] == [SCF_QUESTION]
    assert [m.get("text") for m in two if m["role"] == "user"] == ["What is the capital of France?"]
    assert one[-1]["answer"].question == SCF_QUESTION and one[-1]["answer"].citations[0].source == WY
    assert two[-1]["answer"].question == "What is the capital of France?"
