"""Specification of the question benchmark file and its validator (eval/questions.py, python -m eval check)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eval.__main__ import main
from eval.questions import CATEGORIES, Question, load_questions, parse_question, validate_questions

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "eval" / "questions.jsonl"
CORPUS = ROOT / "eval" / "letters"
SHIPPED_LETTERS = {"gmca-2020-05-04-prevent-response.txt", "west-yorkshire-pcc-2020-06-19-prevent-response.txt"}

LETTER = "Dear Home Secretary,\nThe grant is up to £6k. It started in August 2019.\n"


def record(**overrides) -> dict:
    start = LETTER.index("The grant")
    end = LETTER.index("£6k.") + len("£6k.")
    rec = {
        "id": "q001",
        "question": "How big is the grant?",
        "category": "amount",
        "answerable": True,
        "answers": ["£6k"],
        "source": "letter.txt",
        "char_start": start,
        "char_end": end,
        "split": "dev",
    }
    rec.update(overrides)
    return rec


def unanswerable(**overrides) -> dict:
    rec = record(id="q900", question="How much did the grant scheme cost?", category="amount", answerable=False,
                 answers=[], source="letter.txt", char_start=None, char_end=None, split="test")
    rec.update(overrides)
    return rec


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    # BOM: canonical text is read with utf-8-sig, so offsets ignore it
    (d / "letter.txt").write_text("\ufeff" + LETTER, encoding="utf-8")
    return d


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def problems_for(records: list[dict], corpus: Path) -> list[str]:
    return validate_questions([parse_question(r, i) for i, r in enumerate(records, 1)], corpus)


# --- the shipped benchmark ---------------------------------------------------------


def test_shipped_file_keeps_the_original_questions_and_adds_many_letters():
    questions = load_questions(SHIPPED)
    original = [q for q in questions if q.id[1:].isdigit()]
    assert len(original) == 140 and all(q.split == "dev" for q in original)
    assert {q.source for q in original if q.answerable} == SHIPPED_LETTERS
    assert {q.category for q in questions} <= set(CATEGORIES)
    letters = {q.source for q in questions if q.source}
    if len(letters) > 2:  # the benchmark letters are in: at least 500 questions, 25% unanswerable
        assert len(questions) >= 500 and len(letters) >= 40
        assert sum(not q.answerable for q in questions) >= 0.25 * len(questions)
    wording = [q.question.strip().lower() for q in questions]
    assert len(set(wording)) >= 0.99 * len(wording)


def test_original_unanswerable_questions_now_say_what_they_ask_for():
    original = [q for q in load_questions(SHIPPED) if q.id[1:].isdigit() and not q.answerable]
    assert len(original) == 29
    assert all(q.category in CATEGORIES and q.char_start is None for q in original)
    assert {q.source for q in original} == SHIPPED_LETTERS | {None}


# --- the validator -------------------------------------------------------------------


def test_valid_made_up_file_has_no_problems(corpus: Path):
    assert problems_for([record(), unanswerable()], corpus) == []


def test_answer_outside_its_gold_span_is_reported(corpus: Path):
    problems = problems_for([record(answers=["£6k", "August 2019"])], corpus)
    assert len(problems) == 1
    assert "q001" in problems[0] and "August 2019" in problems[0]


def test_span_beyond_end_of_letter_is_reported(corpus: Path):
    problems = problems_for([record(char_start=10, char_end=len(LETTER) + 1)], corpus)
    assert len(problems) == 1 and "outside" in problems[0]


@pytest.mark.parametrize("start,end", [(-1, 5), (5, 5), (9, 3)])
def test_empty_negative_or_reversed_span_is_reported(corpus: Path, start: int, end: int):
    problems = problems_for([record(char_start=start, char_end=end)], corpus)
    assert len(problems) == 1 and "outside" in problems[0]


def test_span_reaching_exactly_the_end_is_allowed(corpus: Path):
    assert problems_for([record(answers=["August 2019"], char_end=len(LETTER))], corpus) == []


def test_duplicate_ids_are_reported(corpus: Path):
    problems = problems_for([record(), unanswerable(id="q001")], corpus)
    assert problems == ["q001: duplicate id (2 questions)"]


def test_unknown_category_and_bad_split_are_reported(corpus: Path):
    problems = problems_for([record(category="trivia", split="holdout")], corpus)
    assert any("unknown category 'trivia'" in p for p in problems)
    assert any("bad split 'holdout'" in p for p in problems)


def test_missing_source_file_is_reported(corpus: Path):
    problems = problems_for([record(source="nope.txt")], corpus)
    assert len(problems) == 1 and "not found" in problems[0]


def test_answerable_without_answers_source_or_span_is_reported(corpus: Path):
    problems = problems_for(
        [record(id="a", answers=[]), record(id="b", source=None), record(id="c", char_start=None)], corpus
    )
    assert any(p.startswith("a:") and "no answers" in p for p in problems)
    assert any(p.startswith("b:") and "no source" in p for p in problems)
    assert any(p.startswith("c:") and "no gold span" in p for p in problems)


def test_unanswerable_with_answers_or_span_is_reported(corpus: Path):
    problems = problems_for(
        [unanswerable(id="a", answers=["£6k"]), unanswerable(id="b", char_start=0, char_end=5),
         unanswerable(id="c", source="other.txt")],
        corpus,
    )
    assert any(p.startswith("a:") and "has answers" in p for p in problems)
    assert any(p.startswith("b:") and "has a span" in p for p in problems)
    assert any(p.startswith("c:") and "not found" in p for p in problems)


def test_unanswerable_question_may_name_its_letter_or_none(corpus: Path):
    assert problems_for([unanswerable(id="a"), unanswerable(id="b", source=None)], corpus) == []


def test_custom_text_reader_is_used_for_other_formats(tmp_path: Path):
    q = parse_question(record(source="letter.pdf"), 1)
    assert validate_questions([q], tmp_path, text_for_source=lambda s: LETTER) == []
    assert validate_questions([q], tmp_path, text_for_source=lambda s: "x" * 200) != []


def test_parse_question_gives_a_frozen_record():
    q = parse_question(record(), 1)
    assert isinstance(q, Question) and q.answers == ("£6k",)
    with pytest.raises(AttributeError):
        q.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"answerable": "yes"}, "answerable"),
        ({"answers": "£6k"}, "answers"),
        ({"char_start": "12"}, "char_start"),
        ({"id": ""}, "id"),
    ],
)
def test_parse_question_rejects_wrong_types_with_one_line_message(change: dict, fragment: str):
    with pytest.raises(ValueError) as err:
        parse_question(record(**change), 7)
    message = str(err.value)
    assert "line 7" in message and fragment in message and "\n" not in message


def test_parse_question_rejects_missing_field():
    rec = record()
    del rec["split"]
    with pytest.raises(ValueError, match="missing field.*split"):
        parse_question(rec, 1)


def test_bad_json_line_is_reported_with_path_and_line_number(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(record()) + "\n\n" + '{"id": "q002", oops}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"q\.jsonl:3: invalid JSON"):
        load_questions(path)


def test_schema_error_is_reported_with_path_and_line_number(tmp_path: Path):
    path = write_jsonl(tmp_path / "q.jsonl", [record(), record(id="q002", answerable=None)])
    with pytest.raises(ValueError, match=r"q\.jsonl:2: 'answerable'"):
        load_questions(path)


# --- the command line ----------------------------------------------------------------


def test_check_exits_0_and_prints_summary_for_valid_file(tmp_path: Path, corpus: Path, capsys):
    path = write_jsonl(tmp_path / "q.jsonl", [record(), unanswerable()])
    assert main(["check", str(path), "--corpus", str(corpus)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["check: 2 questions (1 answerable, 1 unanswerable; train 0, dev 1, test 1): OK"]


def test_check_exits_1_and_lists_each_problem(tmp_path: Path, corpus: Path, capsys):
    path = write_jsonl(tmp_path / "q.jsonl", [record(answers=["nowhere"]), record(char_end=10_000)])
    assert main(["check", str(path), "--corpus", str(corpus)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "check: 3 problem(s)"
    assert len(out) == 4  # duplicate id, answer not in span, span outside letter + summary


def test_check_exits_1_on_bad_json_naming_the_line(tmp_path: Path, corpus: Path, capsys):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(record()) + "\nnot json\n", encoding="utf-8")
    assert main(["check", str(path), "--corpus", str(corpus)]) == 1
    assert f"{path}:2:" in capsys.readouterr().out


def test_check_exits_2_without_traceback_for_missing_file(tmp_path: Path, corpus: Path, capsys):
    assert main(["check", str(tmp_path / "missing.jsonl"), "--corpus", str(corpus)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and "missing.jsonl" in captured.err


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("LETTERS_QA_CORPUS", None)
    return subprocess.run([sys.executable, "-m", "eval", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_python_m_eval_check_on_the_benchmark_exits_0():
    result = _run_cli("check", cwd=ROOT)  # letters, catalogue, questions and splits
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].endswith(": OK")


def test_python_m_eval_check_on_unreadable_file_exits_2_without_traceback(tmp_path: Path):
    result = _run_cli("check", str(tmp_path), "--corpus", str(CORPUS), cwd=ROOT)  # a directory
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.strip()
