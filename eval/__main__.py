"""Command line for the question benchmark: ``python -m eval check FILE [--corpus DIR]``.

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
