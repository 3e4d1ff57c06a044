"""The benchmark runner end to end (python -m eval run) on a tiny made-up corpus, with the real model.

One index and one baseline run are shared by the whole module; the other tests reuse the index.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from eval.__main__ import main
from eval.baselines import SYSTEM_NAMES, windows
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
             "people.", ["£4,500", "up to £4,500"], "train"),
    question("q2", "When was the youth cycling scheme launched?", "date", E,
             "The youth cycling scheme was launched in June 2019 across all eight Eastvale boroughs.",
             ["June 2019"], "dev"),
    question("q3", "Who chairs the monthly safeguarding panel?", "person", N,
             "Our Prevent coordinator, Dr Amelia Stone, chairs the monthly safeguarding panel in Kingsbridge.",
             ["Dr Amelia Stone", "Amelia Stone"], "train"),
    question("q4", "Where do the youth workers run their weekend sessions?", "place", E,
             "Twelve youth workers now run weekend sessions at Riverside Hall.", ["Riverside Hall"], "dev"),
    question("q5", "What was the final score of the 1966 World Cup final?", "number", None, None, [], "train"),
    question("q6", "How much does the Eastvale youth cycling scheme cost?", "amount", None, None, [], "dev"),
]
QUESTIONS[5]["source"] = E  # an unanswerable question about one letter keeps its letter
META = {"sender": ["John Harlow"], "role": ["Police and Crime Commissioner for Northshire"],
        "organisation": ["Office of the Police and Crime Commissioner for Northshire"], "recipient": ["Home Secretary"],
        "date": "2021-03-02", "reference": None, "subject": None}
CATALOGUE = [
    {"source": N, "split": "train", "writer": "test", "sender_kind": "police_and_crime_commissioner",
     "layout": ["letterhead", "dear_named"], "format": "txt", "pages": 1, "metadata": META},
    {"source": E, "split": "dev", "writer": "test", "sender_kind": "mayor_combined_authority",
     "layout": ["letterhead"], "format": "txt", "pages": 1,
     "metadata": dict(META, sender=["Priya Natarajan"], role=["Deputy Mayor of Eastvale"],
                      organisation=["Eastvale Combined Authority"], date="2021-04-10")},
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
    catalogue = root / "letters.jsonl"
    catalogue.write_text("".join(json.dumps(x) + "\n" for x in CATALOGUE), encoding="utf-8")
    report = root / "report"
    out = io.StringIO()
    code = run_command(questions, corpus, root / "index", baselines=True, report_dir=report, out=out, split="all",
                       catalogue=catalogue)
    return {"root": root, "corpus": corpus, "questions": questions, "index": root / "index", "report": report,
            "code": code, "stdout": out.getvalue(), "catalogue": catalogue}


def test_run_writes_results_for_every_system_and_question(bench):
    assert bench["code"] == 0
    results = json.loads((bench["report"] / "results.json").read_text(encoding="utf-8"))
    assert list(results["systems"]) == list(SYSTEM_NAMES)
    for name, run in results["systems"].items():
        assert [r["id"] for r in run["records"]] == [q["id"] for q in QUESTIONS], name
        m = run["metrics"]
        assert m["n"] == 6 and m["n_answerable"] == 4 and m["n_unanswerable"] == 2 and m["letters"] == 2
        assert m["verbatim"] == 1.0, name  # the contract: every quote and passage is the canonical text
        assert all(r["latency_ms"] > 0 for r in run["records"])
        for metric in TABLE_COLUMNS:
            assert metric in m
        assert set(m["by_split"]) == {"train", "dev"} and "letterhead" in m["by_layout"] and "txt" in m["by_format"]
        assert all(r["answer"] is None or len(r["answer"].split()) <= 60 for r in run["records"])
        assert (run["calibration"] is None) == (name == "full")  # every other system has its own
    assert results["metadata"]["n"] == 2 and set(results["metadata"]["fields"]) >= {"sender", "date", "subject"}
    assert results["metadata"]["fields"]["date"] == 1.0
    assert "λ =" in results["systems"]["best-sentence"]["description"]


def test_run_prints_one_table_metadata_and_breakdowns(bench):
    out = bench["stdout"]
    header = next(line for line in out.splitlines() if line.startswith("system"))
    for metric in ("tight_correct", "em", "f1", "containment", "verbatim", "abstention_recall", "auroc", "ece",
                   "confidently_wrong"):
        assert metric in header
    rows = [line.split()[0] for line in out.splitlines() if line.strip()]
    for name in SYSTEM_NAMES:
        assert name in rows
    # one systems table over the run, then (a run over all splits) one per split
    assert sum(line.startswith("system ") for line in out.splitlines()) == 3
    assert "train split only:" in out and "dev split only:" in out and "test split only:" not in out
    assert "letter metadata extracted by the index" in out
    assert "full by category:" in out and "full by format:" in out


def test_json_prints_one_object_with_the_headline_figures(bench, capsys):
    code = main(["run", "--json", "--split", "dev", "--questions", str(bench["questions"]), "--corpus",
                 str(bench["corpus"]), "--catalogue", str(bench["catalogue"]), "--index-dir", str(bench["index"]),
                 "--report", str(bench["root"] / "r-json")])
    captured = capsys.readouterr()
    assert code == 0
    summary = json.loads(captured.out)  # stdout is just the JSON; progress went to stderr
    for key in ("letters", "questions", "tight_correct", "em", "f1", "containment", "letter_accuracy", "verbatim",
                "abstention_precision", "abstention_recall", "auroc", "ece", "confidently_wrong",
                "metadata_accuracy"):
        assert key in summary, key
    assert summary["letters"] == 1 and summary["questions"] == 3 and summary["split"] == "dev"
    assert 0.0 <= summary["metadata_accuracy"] <= 1.0
    assert captured.err.strip()


def test_test_split_report_shows_aggregates_only(bench):
    from eval.report import html_report

    results = json.loads((bench["report"] / "results.json").read_text(encoding="utf-8"))
    page = html_report({**results, "split": "test"}, {})
    assert "q1" not in page and "only in aggregate" in page


def test_sentence_windows_stay_under_the_word_cap():
    text = "one two three. four five. " + "x " * 70
    spans = [(0, 14), (15, 25), (26, len(text))]
    assert windows(spans, text, limit=5) == [(0, 25), (15, 25), (26, 26 + len("x " * 5) - 1)]


def test_run_writes_html_and_markdown_reports(bench):
    page = (bench["report"] / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= 4  # metrics, latency, reliability diagram, categories
    assert "by layout" in page and "Letter metadata" in page
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
    assert parse_thresholds(["recall@5=0.9", "rag-recipe:containment=0.2"]) == [
        ("full", "recall@5", 0.9), ("rag-recipe", "containment", 0.2)]
    for bad in (["recall@5"], ["recall@5=high"], ["nonsense=1"]):
        with pytest.raises(UsageError):
            parse_thresholds(bad)
    results = {"systems": {"full": {"metrics": {"recall@5": 0.8, "false_abstention": 0.3,
                                                "abstention_recall": None}}}}
    missed = check_thresholds(results, parse_thresholds(
        ["recall@5=0.8", "false_abstention=0.2", "abstention_recall=0.5", "rag-recipe:recall@5=0.1"]))
    assert len(missed) == 3
    assert "false_abstention" in missed[0] and "ceiling" in missed[0]
    assert "n/a" in missed[1] and "rag-recipe" in missed[2]
