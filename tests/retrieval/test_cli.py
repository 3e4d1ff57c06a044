"""The retrieval CLI as evaluators drive it (CONTRACT.md).

`main()` runs in this process (the model loads once per test session); what a fresh process does —
argv decoding, no torch import — is tested in tests/reliability and tests/index/test_embedding.py."""
from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass

import pytest

from retrieval.__main__ import main


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def run(*args) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Result(code, out.getvalue(), err.getvalue())


def test_batch_mode_answers_in_order_and_reports_bad_lines(shipped_settings, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join([
        json.dumps({"id": "a", "question": "When was the free bus pass introduced?"}),
        json.dumps({"id": "b", "question": "   "}),
        "this is not json",
        json.dumps({"id": "d", "question": "What is the capital of Peru?"}),
    ]) + "\n")
    result = run("ask", "--questions", str(questions), "--index-dir", str(shipped_settings.index_dir), "--json")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b", "line3", "d"]
    assert "August 2019" in out[0]["answer"] and out[0]["abstained"] is False
    assert "error" in out[1] and "error" in out[2]
    assert out[3]["abstained"] is True and out[3]["answer"] is None and out[3]["passages"]


@pytest.mark.xfail(strict=True, reason="known miss of the fitted answerability (retrieval/answer_model.json, threshold: "
                                        "best dev abstention F1 with <= 8% false abstentions): it refuses this 'who chairs' "
                                        "question, answered by an organisation; see the s4-abstain report")
def test_single_question_json_and_text(shipped_settings):
    result = run("ask", "Who chairs the Greater Manchester Hate Crime Working Group?", "--index-dir",
                 str(shipped_settings.index_dir), "--json", "--k", "3")
    answer = json.loads(result.stdout)
    assert "Greater Manchester Police" in answer["answer"] and len(answer["passages"]) == 3
    text = run("ask", "Who chairs the Greater Manchester Hate Crime Working Group?", "--index-dir",
               str(shipped_settings.index_dir))
    assert re.search(r"\[\[[^\]]*Greater Manchester Police\]\]", text.stdout), text.stdout  # the answer, marked


def test_bad_question_and_missing_index_exit_2_without_a_traceback(shipped_settings, tmp_path):
    blank = run("ask", "  ", "--index-dir", str(shipped_settings.index_dir))
    assert blank.returncode == 2 and "empty" in blank.stderr and "Traceback" not in blank.stderr
    missing = run("ask", "Who signed?", "--index-dir", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "python -m index build" in missing.stderr and "Traceback" not in missing.stderr


def test_compare_json_has_one_answer_per_letter(shipped_settings):
    result = run("compare", "Who attends Channel panels?", "--index-dir", str(shipped_settings.index_dir), "--json")
    answers = json.loads(result.stdout)["answers"]
    assert len(answers) == 2 and len({a["letter"] for a in answers}) == 2
