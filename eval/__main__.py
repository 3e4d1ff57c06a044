"""Command line for the question benchmark:

    python -m eval check FILE [--corpus DIR]
    python -m eval run [--questions FILE] [--corpus DIR] [--index-dir DIR] [--baselines] [--report DIR]
                       [--split dev|test|all] [--k N] [--rebuild] [--fail-under [SYSTEM:]METRIC=VALUE ...]
    python -m eval calibrate [--questions FILE] [--corpus DIR] [--index-dir DIR] [--write] [--json] [--rebuild]
    python -m eval feedback export [--index-dir DIR] [--out FILE]

Each subcommand lives in its own small function taking the parsed arguments and
returning an exit code; add new ones in build_parser().
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from eval.questions import load_questions, summarize, validate_questions

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_UNUSABLE = 2


def default_corpus() -> str:
    return os.environ.get("LETTERS_QA_CORPUS") or "corpus"


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a question file against the corpus; exit 0 clean, 1 problems, 2 unreadable."""
    path = Path(args.file)
    corpus = Path(args.corpus)
    try:
        questions = load_questions(path)
    except FileNotFoundError:
        print(f"check: no such file: {path}", file=sys.stderr)
        return EXIT_UNUSABLE
    except (OSError, UnicodeDecodeError) as exc:
        print(f"check: cannot read {path}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except ValueError as exc:
        # a malformed line: report it as a problem of the file
        print(exc)
        print("check: 1 problem(s)")
        return EXIT_PROBLEMS
    if not corpus.is_dir():
        print(f"check: corpus directory not found: {corpus}", file=sys.stderr)
        return EXIT_UNUSABLE

    problems = validate_questions(questions, corpus)
    for problem in problems:
        print(problem)
    if problems:
        print(f"check: {len(problems)} problem(s)")
        return EXIT_PROBLEMS
    c = summarize(questions)
    print(
        f"check: {c['total']} questions ({c['answerable']} answerable, {c['unanswerable']} unanswerable; "
        f"dev {c['dev']}, test {c['test']}): OK"
    )
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Run the benchmark; exit 0, 1 when a --fail-under threshold is missed, 2 when unusable."""
    from eval.runner import run_command

    return run_command(args.questions, args.corpus, args.index_dir, args.baselines, args.report, args.split,
                       args.fail_under, args.k, rebuild=args.rebuild)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the confidence weights and abstention threshold on dev, report on test; --write saves them."""
    from eval.calibrate import calibrate_command

    return calibrate_command(args.questions, args.corpus, args.index_dir, args.write, args.json, args.l2, args.rebuild)


def cmd_feedback_export(args: argparse.Namespace) -> int:
    """Thumbs-down and unanswered questions from the app as candidate gold questions (JSONL)."""
    from eval.feedback import export_command

    return export_command(args.index_dir, args.out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description="Letters QA question benchmark tools.")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="validate a questions .jsonl file against the corpus")
    check.add_argument("file", help="questions file, one JSON object per line")
    check.add_argument(
        "--corpus",
        default=default_corpus(),
        help="corpus directory (default: $LETTERS_QA_CORPUS, else ./corpus)",
    )
    check.set_defaults(func=cmd_check)

    run = sub.add_parser("run", help="run the benchmark and write results.json, report.md and report.html")
    run.add_argument("--questions", default=None, help="questions file (default: eval/questions.jsonl)")
    run.add_argument("--corpus", default=None, help="corpus directory (default: $LETTERS_QA_CORPUS, else ./corpus)")
    run.add_argument("--index-dir", default=None,
                     help="index directory (default: $LETTERS_QA_INDEX, else .letters_qa_index); built if needed")
    run.add_argument("--baselines", action="store_true",
                     help="also run the baselines and ablations (rrf-fusion, dense-only, bm25-only, "
                          "no-answer-types, no-name-matching, tutorial)")
    run.add_argument("--report", default=None, metavar="DIR",
                     help="report directory (default: eval/reports/latest, git-ignored)")
    run.add_argument("--split", choices=("dev", "test", "all"), default="all", help="questions to run (default: all)")
    run.add_argument("--k", type=int, default=10, help="passages retrieved per question (default 10, for nDCG@10)")
    run.add_argument("--fail-under", nargs="+", action="extend", default=[], metavar="METRIC=VALUE",
                     help="exit 1 when a metric of the full system misses VALUE (a ceiling for false_abstention, "
                          "answer_words, errors, p50_ms, p95_ms); SYSTEM:METRIC=VALUE for another system")
    run.add_argument("--rebuild", action="store_true", help="rebuild the index from scratch first")
    run.set_defaults(func=cmd_run)

    cal = sub.add_parser("calibrate", help="fit confidence weights and the abstention threshold on the dev split")
    cal.add_argument("--questions", default=None, help="questions file (default: eval/questions.jsonl)")
    cal.add_argument("--corpus", default=None, help="corpus directory (default: $LETTERS_QA_CORPUS, else ./corpus)")
    cal.add_argument("--index-dir", default=None, help="index directory (default: $LETTERS_QA_INDEX, else .letters_qa_index)")
    cal.add_argument("--l2", type=float, default=1.0, help="L2 strength pulling the weights towards the defaults (default 1)")
    cal.add_argument("--write", action="store_true", help="save threshold, weights and report to retrieval/calibration.json")
    cal.add_argument("--json", action="store_true", help="print the report as JSON")
    cal.add_argument("--rebuild", action="store_true", help="rebuild the index from scratch first")
    cal.set_defaults(func=cmd_calibrate)

    feedback = sub.add_parser("feedback", help="questions readers marked 👎 or the app could not answer")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True)
    export = feedback_sub.add_parser("export", help="write them as candidate gold questions (JSONL) for a person "
                                                    "to complete")
    export.add_argument("--index-dir", default=None, help="index directory holding feedback.sqlite "
                                                          "(default: $LETTERS_QA_INDEX, else .letters_qa_index)")
    export.add_argument("--out", default=None, metavar="FILE", help="output file (default: standard output)")
    export.set_defaults(func=cmd_feedback_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
