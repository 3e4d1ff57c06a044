"""👍/👎 stored beside the index, and `python -m eval feedback export` back into the benchmark format."""
from __future__ import annotations

import json
import subprocess
import sys

from eval.feedback import FeedbackStore, candidate_questions, feedback_path
from eval.questions import parse_question

from .conftest import ROOT

FIELDS = ["id", "question", "category", "answerable", "answers", "source", "char_start", "char_end", "split"]


def _store(tmp_path) -> FeedbackStore:
    store = FeedbackStore(feedback_path(tmp_path / "index"))
    store.record_answer("a1", "What grants?", "What grants?", "£6k", False, "wy.txt")
    store.record_answer("a2", "Who signed it?", "Who signed it?", "Mark", False, "wy.txt")
    store.record_answer("a3", "capital of France?", "What is the capital of France?", None, True, None)
    store.record_answer("a4", "again", "What is the capital of  France?", None, True, None)
    store.record_answer("a5", "liked abstention", "Is it raining?", None, True, None)
    store.rate("a1", 1)
    store.rate("a2", -1)
    store.rate("a5", 1)
    return store


def test_thumbs_down_and_unanswered_become_candidate_questions(tmp_path):
    candidates = candidate_questions(_store(tmp_path).records())
    assert [c["question"] for c in candidates] == ["Who signed it?", "What is the capital of France?"]
    for c in candidates:
        assert list(c) == FIELDS and c["id"].startswith("fb-")
        assert c["answers"] == [] and all(c[k] is None for k in FIELDS[2:] if k != "answers")


def test_candidates_are_benchmark_questions_once_a_person_fills_them_in(tmp_path):
    (candidate,) = candidate_questions(_store(tmp_path).records())[:1]
    filled = candidate | {"category": "person", "answerable": True, "answers": ["Mark Burns-Williamson"],
                          "source": "west-yorkshire-pcc-2020-06-19-prevent-response.txt", "char_start": 0,
                          "char_end": 10, "split": "dev"}
    assert parse_question(filled, 1).question == "Who signed it?"


def test_export_command_writes_jsonl(tmp_path):
    _store(tmp_path)
    out = tmp_path / "candidates.jsonl"
    done = subprocess.run([sys.executable, "-m", "eval", "feedback", "export", "--index-dir", str(tmp_path / "index"),
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["question"] for line in lines] == ["Who signed it?", "What is the capital of France?"]
    assert "2 candidate question(s)" in done.stderr
    empty = subprocess.run([sys.executable, "-m", "eval", "feedback", "export", "--index-dir", str(tmp_path / "none")],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert empty.returncode == 0 and empty.stdout == ""
