"""Every benchmark question's answer from one index, saved; two saves compared. The proof that a change
to the answer path (speed, caching) left every answer and confidence as it was.

    python -m bench.answers save OUT.json [--index-dir DIR] [--questions FILE]
    python -m bench.answers diff BEFORE.json AFTER.json [--tolerance 1e-9]

`save` also prints the warm ask latency over the questions (median and 95th percentile, ms; the
first questions warm the model and the letters up untimed) and the process CPU time per ask (all
threads; what other people's load on a shared machine inflates least). `diff` exits 1 when an answer, its
citations or passages differ, or a confidence, citation score or confidence signal differs by more
than the tolerance (floats summed in another order differ in the last bits).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from .measure import percentile
from .parity import benchmark_questions

DEFAULT_QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"
DEFAULT_INDEX = Path(".letters_qa_eval_index")
WARMUP = 5


def record(answer) -> dict:
    """An answer as exact JSON: its text and places, and its floats (confidence, citation scores, signals)."""
    return {"question": answer.question, "answer": answer.answer, "abstained": answer.abstained,
            "answer_type": answer.answer_type,
            "citations": [[c.source, c.char_start, c.char_end, c.answer_start, c.answer_end] for c in answer.citations],
            "passages": [[p.source, p.char_start, p.char_end] for p in answer.passages],
            "confidence": answer.confidence, "scores": [c.score for c in answer.citations],
            "signals": dict(answer.signals or {})}


def snapshot(assistant, questions: list[str]) -> tuple[list[dict], list[float], list[float]]:
    """The records of every question's answer, the ask times and the CPU times per ask, in ms."""
    for question in questions[:WARMUP]:
        assistant.ask(question)
    records, times, cpu = [], [], []
    for question in questions:
        start, start_cpu = time.perf_counter(), time.process_time()
        answer = assistant.ask(question)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        records.append(record(answer))
    return records, times, cpu


def differences(before: list[dict], after: list[dict], tolerance: float = 1e-9) -> list[str]:
    """One line per question answered differently (empty: the same answers)."""
    if len(before) != len(after):
        return [f"{len(before)} answers vs {len(after)}"]
    out = []
    exact = ("question", "answer", "abstained", "answer_type", "citations", "passages")
    for a, b in zip(before, after):
        changed = [k for k in exact if a[k] != b[k]]
        floats = [("confidence", a["confidence"], b["confidence"])]
        floats += [(f"score {i}", x, y) for i, (x, y) in enumerate(zip(a["scores"], b["scores"]))]
        if a["signals"].keys() != b["signals"].keys():
            changed.append("signals")
        floats += [(k, a["signals"][k], b["signals"].get(k, float("nan"))) for k in a["signals"]]
        changed += [name for name, x, y in floats if not (abs(x - y) <= tolerance or x != x and y != y)]  # NaN = NaN
        if changed:
            out.append(f"{a['question']!r}: {', '.join(changed)} ({a['answer']!r} {a['confidence']:.6f} vs "
                       f"{b['answer']!r} {b['confidence']:.6f})")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.answers", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    save = commands.add_parser("save", help="answer every question and save the answers")
    save.add_argument("out", type=Path)
    save.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX)
    save.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    diff = commands.add_parser("diff", help="compare two saves")
    diff.add_argument("before", type=Path)
    diff.add_argument("after", type=Path)
    diff.add_argument("--tolerance", type=float, default=1e-9)
    args = parser.parse_args(argv)
    if args.command == "save":
        from retrieval import Assistant

        records, times, cpu = snapshot(Assistant.load(args.index_dir), benchmark_questions(args.questions))
        args.out.write_text(json.dumps(records, indent=1), encoding="utf-8")
        print(f"{len(records)} answers saved to {args.out}; warm ask p50 {statistics.median(times):.1f} ms, "
              f"p95 {percentile(times, 95):.1f} ms; CPU per ask p50 {statistics.median(cpu):.1f} ms, "
              f"p95 {percentile(cpu, 95):.1f} ms")
        return 0
    try:
        before, after = (json.loads(path.read_text(encoding="utf-8")) for path in (args.before, args.after))
    except (OSError, ValueError) as exc:
        print(f"bench.answers: cannot read the saved answers: {exc}", file=sys.stderr)
        return 2
    found = differences(before, after, args.tolerance)
    for line in found[:20]:
        print("  differs:", line)
    print(f"answers identical {len(before) - len(found)}/{len(before)} (floats within {args.tolerance:g})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
