"""The benchmark runner end to end (python -m eval run) on a tiny made-up corpus, with the real model.

One index and one baseline run are shared by the whole module; the other tests reuse the index.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from eval.__main__ import main
from eval.report import TABLE_COLUMNS
from eval.runner import UsageError, check_thresholds, parse_thresholds, run_command

LETTERS = {
    "northshire-pcc-2021-03-02.txt": (
        "Office of the Police and Crime Commissioner for Northshire\n\n2nd March 2021\n\n"
        "Dear Home Secretary,\n\n"
        "Thank you for sharing the inspection report on Prevent. "
        "The Northshire Community Fund offers grants of up to £4,500 to local charities working with young people. "
        "Our Prevent coordinator, Dr Amelia Stone, chairs the monthly safeguarding panel in Kingsbridge. "
        "We opened a new training centre in October 2020 to help officers spot early signs of radicalisation.\n\n"
        "Yours sincerely\n\nJohn Harlow\nPolice and Crime Commissioner for Northshire\n"),
    "eastvale-mayor-2021-04-10.txt": (
        "Eastvale Combined Authority\n\n10th April 2021\n\nDear Home Secretary,\n\n"
        "I write in response to the inspection of Prevent in Eastvale. "
        "The youth cycling scheme was launched in June 2019 across all eight Eastvale boroughs. "
        "Twelve youth workers now run weekend sessions at Riverside Hall. "
        "The Eastvale Cohesion Board meets every quarter to review referrals.\n\n"
        "Yours faithfully\n\nPriya Natarajan\nDeputy Mayor of Eastvale\n"),
}


def question(qid: str, text: str, category: str, source: str | None, sentence: str | None, answers: list[str],
             split: str) -> dict:
    if source is None:
        return {"id": qid, "question": text, "category": category, "answerable": False, "answers": [],
                "source": None, "char_start": None, "char_end": None, "split": split}
    start = LETTERS[source].find(sentence)
    assert start >= 0, sentence
    return {"id": qid, "question": text, "category": category, "answerable": True, "answers": answers,
            "source": source, "char_start": start, "char_end": start + len(sentence), "split": split}


N, E = "northshire-pcc-2021-03-02.txt", "eastvale-mayor-2021-04-10.txt"
QUESTIONS = [
    question("q1", "How big are the Northshire Community Fund grants?", "amount", N,
             "The Northshire Community Fund offers grants of up to £4,500 to local charities working with young "
             "people.", ["£4,500", "up to £4,500"], "dev"),
    question("q2", "When was the youth cycling scheme launched?", "date", E,
             "The youth cycling scheme was launched in June 2019 across all eight Eastvale boroughs.",
             ["June 2019"], "test"),
    question("q3", "Who chairs the monthly safeguarding panel?", "person", N,
             "Our Prevent coordinator, Dr Amelia Stone, chairs the monthly safeguarding panel in Kingsbridge.",
             ["Dr Amelia Stone", "Amelia Stone"], "dev"),
    question("q4", "Where do the youth workers run their weekend sessions?", "place", E,
             "Twelve youth workers now run weekend sessions at Riverside Hall.", ["Riverside Hall"], "test"),
    question("q5", "What was the final score of the 1966 World Cup final?", "unanswerable", None, None, [], "dev"),
]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in LETTERS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    questions = root / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    report = root / "report"
    out = io.StringIO()
    code = run_command(questions, corpus, root / "index", baselines=True, report_dir=report, out=out)
    return {"root": root, "corpus": corpus, "questions": questions, "index": root / "index", "report": report,
            "code": code, "stdout": out.getvalue()}


def test_run_writes_results_for_every_system_and_question(bench):
    assert bench["code"] == 0
    results = json.loads((bench["report"] / "results.json").read_text(encoding="utf-8"))
    assert list(results["systems"]) == ["full", "rrf-fusion", "dense-only", "bm25-only", "no-answer-types",
                                        "no-name-matching", "tutorial"]
    for name, run in results["systems"].items():
        assert [r["id"] for r in run["records"]] == [q["id"] for q in QUESTIONS], name
        m = run["metrics"]
        assert m["n"] == 5 and m["n_answerable"] == 4 and m["n_unanswerable"] == 1
        assert m["verbatim"] == 1.0, name  # the contract: every quote and passage is the canonical text
        assert all(r["latency_ms"] > 0 for r in run["records"])
        for metric in TABLE_COLUMNS:
            assert metric in m
    tutorial = results["systems"]["tutorial"]
    assert all(not r["abstained"] and len(r["answer"].split()) <= 60 for r in tutorial["records"])


def test_run_prints_one_table_and_the_category_breakdown(bench):
    out = bench["stdout"]
    header = next(line for line in out.splitlines() if line.startswith("system"))
    for metric in ("containment", "recall@5", "verbatim", "abstention_recall", "p95_ms"):
        assert metric in header
    rows = [line.split()[0] for line in out.splitlines() if line.strip()]
    for name in ("full", "tutorial", "bm25-only", "dense-only", "rrf-fusion"):
        assert name in rows
    assert out.count("system ") == 1  # one systems table
    assert "full by category:" in out
    assert "unanswerable" in out.split("full by category:")[1]


def test_run_writes_html_and_markdown_reports(bench):
    page = (bench["report"] / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= 3
    for q in QUESTIONS:
        assert f"<td>{q['id']}</td>" in page
    assert (bench["report"] / "report.md").read_text(encoding="utf-8").startswith("# Letters QA benchmark")
    # failures first: the per-question rows are ordered by correctness
    results = json.loads((bench["report"] / "results.json").read_text(encoding="utf-8"))
    verdicts = {r["id"]: r["correct"] for r in results["systems"]["full"]["records"]}
    table = page.split("per question</h2>")[1]
    order = sorted(verdicts, key=lambda qid: table.index(f"<td>{qid}</td>"))
    assert [verdicts[q] for q in order] == sorted(verdicts.values())


def test_fail_under_an_impossible_threshold_exits_1(bench, capsys):
    code = main(["run", "--questions", str(bench["questions"]), "--corpus", str(bench["corpus"]),
                 "--index-dir", str(bench["index"]), "--report", str(bench["root"] / "r2"),
                 "--fail-under", "containment=1.01", "verbatim=1.0"])
    out = capsys.readouterr().out
    assert code == 1
    missed = [line for line in out.splitlines() if line.startswith("fail-under:")]
    assert len(missed) == 1 and "containment" in missed[0]
    assert (bench["root"] / "r2" / "results.json").exists()


def test_bad_metric_name_and_missing_files_exit_2(bench, tmp_path, capsys):
    base = ["run", "--corpus", str(bench["corpus"]), "--index-dir", str(bench["index"]),
            "--report", str(tmp_path / "r")]
    assert main([*base, "--questions", str(bench["questions"]), "--fail-under", "recal@5=0.9"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric 'recal@5'" in err and len(err.strip().splitlines()) == 1
    assert main([*base, "--questions", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such questions file" in capsys.readouterr().err
    assert main(["run", "--questions", str(bench["questions"]), "--corpus", str(tmp_path / "no-corpus"),
                 "--index-dir", str(bench["index"])]) == 2
    assert "corpus directory not found" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_thresholds_parse_and_compare():
    assert parse_thresholds(["recall@5=0.9", "tutorial:containment=0.2"]) == [
        ("full", "recall@5", 0.9), ("tutorial", "containment", 0.2)]
    for bad in (["recall@5"], ["recall@5=high"], ["nonsense=1"]):
        with pytest.raises(UsageError):
            parse_thresholds(bad)
    results = {"systems": {"full": {"metrics": {"recall@5": 0.8, "false_abstention": 0.3,
                                                "abstention_recall": None}}}}
    missed = check_thresholds(results, parse_thresholds(
        ["recall@5=0.8", "false_abstention=0.2", "abstention_recall=0.5", "tutorial:recall@5=0.1"]))
    assert len(missed) == 3
    assert "false_abstention" in missed[0] and "ceiling" in missed[0]
    assert "n/a" in missed[1] and "tutorial" in missed[2]
