"""python -m retrieval ask | compare  (see CONTRACT.md)."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from index.settings import Settings


def _filters(args):
    from .search import Filters

    return Filters(sources=tuple(args.source or ()), sender=args.sender, organisation=args.organisation,
                   date_from=args.date_from, date_to=args.date_to)


def _load(args):
    from .assistant import Assistant

    settings = Settings.from_env(index_dir=args.index_dir, k=getattr(args, "k", None))
    _warn_if_stale(settings)
    return Assistant.load(settings=settings)


def _warn_if_stale(settings: Settings) -> None:
    from index.building import staleness

    message = staleness(settings)
    if message:
        print(f"warning: {message}", file=sys.stderr)


def _print_answer(answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return
    if answer.letter:
        print(f"== {answer.letter}")
    if answer.abstained:
        print(f"The letters don't answer this (confidence {answer.confidence:.2f}). Closest passages:")
        for p in answer.passages[:3]:
            print(f"  - {p.source} [{p.char_start}:{p.char_end}] {' '.join(p.text.split())[:160]}…")
        return
    top = answer.citations[0]
    quote = top.quote
    a, b = top.answer_start - top.char_start, top.answer_end - top.char_start
    print(answer.answer)
    print(f"  confidence {answer.confidence:.2f} — {top.title or top.source}")
    print(f"  {top.source} [{top.char_start}:{top.char_end}]: {' '.join((quote[:a] + '[[' + quote[a:b] + ']]' + quote[b:]).split())}")
    for other in answer.citations[1:]:
        print(f"  see also {other.source} [{other.char_start}:{other.char_end}]: {' '.join(other.quote.split())[:200]}")


def cmd_ask(args) -> int:
    if args.questions is None and args.question is None:
        print("error: give a QUESTION or --questions FILE.jsonl", file=sys.stderr)
        return 2
    if args.questions is not None:
        return _batch(args)
    answer = _load(args).ask(args.question, _filters(args))  # a QuestionError is reported by main()
    _print_answer(answer, args.json)
    return 0


def _batch(args) -> int:
    """One answer object per non-blank line, in order. Each line stands alone: a line that is not
    UTF-8, not JSON, nested too deep, not an object, or whose question fails in any way gives
    {"id": ..., "error": ...} and the run goes on."""
    path = Path(args.questions)
    try:
        raw_lines = path.read_bytes().splitlines()
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    assistant = _load(args)
    filters = _filters(args)
    for number, raw in enumerate(raw_lines, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        _emit(_answer_line(assistant, filters, raw, number))
    return 0


def _answer_line(assistant, filters, raw: bytes, number: int) -> dict:
    from .assistant import QuestionError

    qid: object = f"line{number}"
    try:
        try:
            obj = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise QuestionError("line is not valid UTF-8") from None
        except RecursionError:
            raise QuestionError("line is nested too deeply to be a question object") from None
        if not isinstance(obj, dict):
            raise QuestionError("line is not a JSON object with 'id' and 'question'")
        qid = obj.get("id", qid)
        if "question" not in obj:
            raise QuestionError("missing field 'question'")
        answer = assistant.ask(obj["question"], filters).to_json()
        return {"id": qid, **{k: v for k, v in answer.items() if k != "id"}}
    except ValueError as exc:  # QuestionError and JSON errors: the user's line
        return {"id": qid, "error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
    except Exception as exc:  # anything else is our bug: report it on this line and go on
        logging.getLogger(__name__).debug("line %d failed", number, exc_info=True)
        return {"id": qid, "error": f"internal error on this line ({type(exc).__name__}: {exc})".splitlines()[0]}


def _emit(obj: dict) -> None:
    try:
        line = json.dumps(obj, ensure_ascii=False)
        line.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        line = json.dumps(obj)  # an id with a lone surrogate: keep it, \u-escaped
    except RecursionError:
        line = json.dumps({"id": None, "error": "id is nested too deeply"})
    print(line, flush=True)


def cmd_compare(args) -> int:
    answers = _load(args).compare(args.question, _filters(args))
    if args.json:
        print(json.dumps({"question": args.question, "answers": [a.to_json() for a in answers]}, ensure_ascii=False))
    else:
        for answer in answers:
            _print_answer(answer, False)
    return 0


def _common(p) -> None:
    p.add_argument("--index-dir", help="index folder (default: $LETTERS_QA_INDEX or .letters_qa_index/)")
    p.add_argument("--json", action="store_true", help="print the answer object(s) as JSON")
    p.add_argument("--source", action="append", help="only this letter (source path); repeatable")
    p.add_argument("--sender", help="only letters whose sender contains this")
    p.add_argument("--organisation", help="only letters whose organisation/role contains this")
    p.add_argument("--date-from", help="only letters dated on or after (YYYY-MM-DD)")
    p.add_argument("--date-to", help="only letters dated on or before (YYYY-MM-DD)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retrieval", description="Ask the letters a question.")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer one question, or a JSONL file of them")
    ask.add_argument("question", nargs="?")
    ask.add_argument("--questions", help="JSONL file: one {\"id\", \"question\"} object per line")
    ask.add_argument("--k", type=int, help="passages to return (default 5)")
    _common(ask)
    ask.set_defaults(func=cmd_ask)
    compare = sub.add_parser("compare", help="one answer per letter")
    compare.add_argument("question")
    _common(compare)
    compare.set_defaults(func=cmd_compare)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from index.embedding import ModelUnavailable
    from index.store import IndexUnavailable

    try:
        return args.func(args)
    except (IndexUnavailable, ModelUnavailable, ValueError) as exc:  # QuestionError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
