"""Command line for the question benchmark (eval/README.md):

    python -m eval render                      # eval/letters_src/*.docx.md|*.pdf.md -> eval/letters/*.docx|*.pdf
    python -m eval compile                     # eval/drafts/* -> eval/letters.jsonl + eval/questions.jsonl
    python -m eval check [FILE] [--corpus DIR] [--catalogue FILE]
    python -m eval stats [--json]
    python -m eval run [--split train|dev|test|all] [--baselines] [--json] [--index-dir DIR] [--report DIR]
                       [--questions FILE] [--corpus DIR] [--catalogue FILE] [--k N] [--rebuild]
                       [--fail-under [SYSTEM:]METRIC=VALUE ...]
    python -m eval calibrate [--write] [--json] [--l2 X]
    python -m eval fit [--write] [--refresh] [--keep-ranker] [--questions FILE] [--index-dir DIR]
    python -m eval feedback export [--index-dir DIR] [--out FILE]

Each subcommand lives in its own small function taking the parsed arguments and returning an exit
code (0 fine, 1 problems found or a threshold missed, 2 unusable input with one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eval.catalogue import CATALOGUE_FILE, LETTERS_DIR, SOURCES_DIR, load_catalogue
from eval.questions import load_questions, summarize

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_UNUSABLE = 2
DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"


def cmd_render(args: argparse.Namespace) -> int:
    from eval.render import RenderError, render_file, sources

    src, out = Path(args.sources), Path(args.out)
    files = sources(src)
    if not files:
        print(f"render: no .docx.md or .pdf.md sources in {src}", file=sys.stderr)
        return EXIT_UNUSABLE
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in files:
        try:
            render_file(path, out)
        except RenderError as exc:
            print(f"render: {exc}")
            failed += 1
    print(f"render: {len(files) - failed} of {len(files)} letters rendered into {out}")
    return EXIT_PROBLEMS if failed else EXIT_OK


def cmd_compile(args: argparse.Namespace) -> int:
    from eval.compile import compile_command

    return compile_command(Path(args.drafts), Path(args.letters), Path(args.catalogue), Path(args.questions))


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the benchmark (or one question file against a corpus); 0 clean, 1 problems, 2 unreadable."""
    from eval.check import check_benchmark
    from eval.questions import validate_questions

    path = Path(args.file or DEFAULT_QUESTIONS)
    corpus = Path(args.corpus) if args.corpus else LETTERS_DIR
    catalogue = Path(args.catalogue) if args.catalogue else (CATALOGUE_FILE if args.corpus is None else None)
    try:
        questions = load_questions(path)
        letters = load_catalogue(catalogue) if catalogue else None
    except FileNotFoundError as exc:
        print(f"check: no such file: {exc.filename}", file=sys.stderr)
        return EXIT_UNUSABLE
    except (OSError, UnicodeDecodeError) as exc:
        print(f"check: cannot read: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except ValueError as exc:  # a malformed line: a problem of the file
        print(exc)
        print("check: 1 problem(s)")
        return EXIT_PROBLEMS
    if not corpus.is_dir():
        print(f"check: corpus directory not found: {corpus}", file=sys.stderr)
        return EXIT_UNUSABLE

    if letters is None:
        problems = validate_questions(questions, corpus)
    else:
        problems = check_benchmark(letters, questions, corpus, SOURCES_DIR if args.corpus is None else None)
    for problem in problems:
        print(problem)
    if problems:
        print(f"check: {len(problems)} problem(s)")
        return EXIT_PROBLEMS
    c = summarize(questions)
    where = f"{len(letters)} letters, " if letters is not None else ""
    print(f"check: {where}{c['total']} questions ({c['answerable']} answerable, {c['unanswerable']} unanswerable; "
          f"train {c['train']}, dev {c['dev']}, test {c['test']}): OK")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from eval.stats import benchmark_stats, format_stats

    try:
        letters = load_catalogue(Path(args.catalogue))
        questions = load_questions(Path(args.questions))
    except (OSError, ValueError) as exc:
        print(f"stats: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    stats = benchmark_stats(letters, questions)
    print(json.dumps(stats, ensure_ascii=False) if args.json else format_stats(stats))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Run the benchmark; exit 0, 1 when a --fail-under threshold is missed, 2 when unusable."""
    from eval.runner import run_command

    return run_command(args.questions, args.corpus, args.index_dir, args.baselines, args.report, args.split,
                       args.fail_under, args.k, rebuild=args.rebuild, as_json=args.json, catalogue=args.catalogue)


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit the answer model on the train letters (settings and threshold on dev); eval/fit.py."""
    from eval.fit import fit_command

    return fit_command(args.questions, args.index_dir, args.write, args.refresh, args.keep_ranker)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the full system's confidence weights and threshold on train, report on dev; --write saves them."""
    from eval.calibrate import calibrate_command

    return calibrate_command(args.questions, args.corpus, args.index_dir, args.write, args.json, args.l2, args.rebuild)


def cmd_feedback_export(args: argparse.Namespace) -> int:
    """Thumbs-down and unanswered questions from the app as candidate gold questions (JSONL)."""
    from eval.feedback import export_command

    return export_command(args.index_dir, args.out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description="Letters QA question benchmark tools.")
    sub = parser.add_subparsers(dest="command", required=True)

    render = sub.add_parser("render", help="render the Word/PDF letters from their markup sources")
    render.add_argument("--sources", default=str(SOURCES_DIR), help="folder of .docx.md/.pdf.md (default eval/letters_src)")
    render.add_argument("--out", default=str(LETTERS_DIR), help="output folder (default eval/letters)")
    render.set_defaults(func=cmd_render)

    comp = sub.add_parser("compile", help="compile the drafts into letters.jsonl and questions.jsonl")
    comp.add_argument("--drafts", default=str(Path(__file__).resolve().parent / "drafts"))
    comp.add_argument("--letters", default=str(LETTERS_DIR))
    comp.add_argument("--catalogue", default=str(CATALOGUE_FILE))
    comp.add_argument("--questions", default=str(DEFAULT_QUESTIONS))
    comp.set_defaults(func=cmd_compile)

    check = sub.add_parser("check", help="validate letters, catalogue, questions and splits")
    check.add_argument("file", nargs="?", help="questions file (default eval/questions.jsonl)")
    check.add_argument("--corpus", default=None, help="letters folder (default eval/letters)")
    check.add_argument("--catalogue", default=None,
                       help="letters catalogue (default eval/letters.jsonl; not used with --corpus unless given)")
    check.set_defaults(func=cmd_check)

    stats = sub.add_parser("stats", help="counts of letters and questions by split, senders and formats")
    stats.add_argument("--catalogue", default=str(CATALOGUE_FILE))
    stats.add_argument("--questions", default=str(DEFAULT_QUESTIONS))
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.set_defaults(func=cmd_stats)

    run = sub.add_parser("run", help="run the benchmark and write results.json, report.md and report.html")
    run.add_argument("--questions", default=None, help="questions file (default: eval/questions.jsonl)")
    run.add_argument("--corpus", default=None, help="letters folder (default: eval/letters)")
    run.add_argument("--catalogue", default=None,
                     help="letters catalogue (default: eval/letters.jsonl; with --corpus only when given)")
    run.add_argument("--index-dir", default=None,
                     help="index folder (default: .letters_qa_eval_index, git-ignored); built or updated as needed")
    run.add_argument("--baselines", action="store_true",
                     help="also run the ablations and baselines, each with its own calibration")
    run.add_argument("--report", default=None, metavar="DIR",
                     help="report directory (default: eval/reports/latest, git-ignored)")
    run.add_argument("--split", choices=("train", "dev", "test", "all"), default="dev",
                     help="questions to run (default: dev)")
    run.add_argument("--json", action="store_true", help="print one JSON object (progress goes to stderr)")
    run.add_argument("--k", type=int, default=10, help="passages retrieved per question (default 10, for nDCG@10)")
    run.add_argument("--fail-under", nargs="+", action="extend", default=[], metavar="METRIC=VALUE",
                     help="exit 1 when a metric of the full system misses VALUE (a ceiling for lower-is-better "
                          "metrics such as ece, confidently_wrong, false_abstention); SYSTEM:METRIC=VALUE for "
                          "another system")
    run.add_argument("--rebuild", action="store_true", help="rebuild the index from scratch first")
    run.set_defaults(func=cmd_run)

    fit = sub.add_parser("fit", help="fit the answer model on the train letters (settings and threshold on dev)")
    fit.add_argument("--questions", default=None, help="questions file (default: eval/questions.jsonl)")
    fit.add_argument("--index-dir", default=None, help="index folder (default: .letters_qa_eval_index)")
    fit.add_argument("--write", action="store_true", help="save the model to retrieval/answer_model.json")
    fit.add_argument("--refresh", action="store_true", help="recompute the candidate cache")
    fit.add_argument("--keep-ranker", action="store_true",
                     help="keep the shipped question, kind and ranker models; refit the confidence and threshold")
    fit.set_defaults(func=cmd_fit)
    cal = sub.add_parser("calibrate", help="fit the full system's confidence on train, threshold on train, "
                                           "report on dev")
    cal.add_argument("--questions", default=None, help="questions file (default: eval/questions.jsonl)")
    cal.add_argument("--corpus", default=None, help="letters folder (default: eval/letters)")
    cal.add_argument("--index-dir", default=None, help="index folder (default: .letters_qa_eval_index)")
    cal.add_argument("--l2", type=float, default=1.0, help="L2 strength pulling the weights towards the defaults (default 1)")
    cal.add_argument("--write", action="store_true", help="refused: the shipped confidence is fitted by eval fit --write")
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
