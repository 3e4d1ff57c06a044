"""Running the benchmark: ``python -m eval run``.

Builds (or reuses) the index, loads the assistant once, sends every question of the chosen split
through each system, times each answer, scores it (eval.metrics), prints one table and the full
system's per-category figures, and writes results.json, report.md and report.html (eval.report).

Latency is wall time of one ``ask`` (question embedding, search, extraction) in steady state: every
question is embedded once, untimed, before any system runs, and each system answers one warm-up
question first, so the lazy model load and torch's first pass per input length are not counted.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from eval.metrics import LOWER_IS_BETTER, METRICS, aggregate, score_response
from eval.questions import TEXT_SUFFIXES, Question, load_questions, read_canonical_text, validate_questions

DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"
DEFAULT_REPORT_DIR = Path(__file__).resolve().parent / "reports" / "latest"
THRESHOLD_METRICS: tuple[str, ...] = (*METRICS, "errors", "correct")
PRIMARY = "full"


class UsageError(ValueError):
    """A bad command line or unusable input: one line, exit 2."""


# --- thresholds ---------------------------------------------------------------------------------
def parse_thresholds(items: Iterable[str] | None) -> list[tuple[str, str, float]]:
    """``[SYSTEM:]METRIC=VALUE`` -> (system, metric, value). Unknown metric names are a UsageError."""
    out = []
    for item in items or ():
        if "=" not in item:
            raise UsageError(f"--fail-under expects METRIC=VALUE, got {item!r}")
        name, _, raw = item.partition("=")
        system, _, metric = name.strip().rpartition(":")
        metric = metric.strip()
        if metric not in THRESHOLD_METRICS:
            raise UsageError(f"--fail-under: unknown metric {metric!r} (known: {', '.join(THRESHOLD_METRICS)})")
        try:
            value = float(raw)
        except ValueError:
            raise UsageError(f"--fail-under: {name} needs a number, got {raw!r}") from None
        out.append((system.strip() or PRIMARY, metric, value))
    return out


def check_thresholds(results: dict, thresholds: Sequence[tuple[str, str, float]]) -> list[str]:
    """One line per missed threshold. Higher-is-better metrics must reach the value; for
    lower-is-better ones (false_abstention, latency, answer_words, errors) the value is a ceiling."""
    missed = []
    for system, metric, limit in thresholds:
        run = results["systems"].get(system)
        if run is None:
            missed.append(f"{system}: no such system in this run (use --baselines?)")
            continue
        value = run["metrics"].get(metric)
        if metric in LOWER_IS_BETTER:
            if value is None or value > limit:
                missed.append(f"{system} {metric} = {_show(value)} > {limit:g} (ceiling)")
        elif value is None or value < limit:
            missed.append(f"{system} {metric} = {_show(value)} < {limit:g}")
    return missed


def _show(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}"


# --- running ------------------------------------------------------------------------------------
def select_split(questions: Sequence[Question], split: str) -> list[Question]:
    return list(questions) if split == "all" else [q for q in questions if q.split == split]


def canonical_texts(corpus_dir: Path, reader=None) -> Callable[[str], str]:
    """Canonical text by source: read from the corpus file for .txt/.md (independently of the index,
    so the verbatim check also checks the index), else what the index holds."""
    cache: dict[str, str] = {}

    def text_for_source(source: str) -> str:
        if source not in cache:
            if Path(source).suffix.lower() in TEXT_SUFFIXES or reader is None:
                cache[source] = read_canonical_text(corpus_dir, source)
            else:
                cache[source] = reader.text(source)
        return cache[source]

    return text_for_source


def run_system(system, questions: Sequence[Question], text_for_source: Callable[[str], str],
               progress: Callable[[str], None] | None = None) -> list[dict]:
    """Every question through one system: per-question records with latency and scores."""
    records = []
    if questions:
        try:
            system.ask(questions[0].question)  # warm-up, untimed
        except Exception:  # noqa: BLE001 - the real call below records the error
            pass
    for q in questions:
        gold = dataclasses.asdict(q)
        started = time.perf_counter()
        try:
            response, error = system.ask(q.question), None
        except Exception as exc:  # noqa: BLE001 - one bad question must not stop the benchmark
            response, error = None, f"{type(exc).__name__}: {exc}"
        latency = (time.perf_counter() - started) * 1000.0
        records.append(score_response(gold, response, text_for_source, round(latency, 2), error))
    if progress:
        progress(f"{system.name}: {len(questions)} questions")
    return records


def run_benchmark(systems: Sequence, questions: Sequence[Question], text_for_source: Callable[[str], str],
                  progress: Callable[[str], None] | None = None) -> dict:
    """{name: {"description", "setup_seconds", "metrics", "records"}} for each system."""
    out = {}
    for system in systems:
        records = run_system(system, questions, text_for_source, progress)
        out[system.name] = {"description": getattr(system, "description", ""),
                            "setup_seconds": getattr(system, "setup_seconds", None),
                            "metrics": aggregate(records), "records": records}
    return out


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_command(questions_file: str | Path | None = None, corpus: str | Path | None = None,
                index_dir: str | Path | None = None, baselines: bool = False,
                report_dir: str | Path | None = None, split: str = "all", fail_under: Iterable[str] | None = None,
                k: int = 10, out=None, rebuild: bool = False) -> int:
    """The body of ``python -m eval run``; returns the exit code (0 ok, 1 missed threshold, 2 unusable)."""
    from eval.report import console_report, write_reports

    out = out or sys.stdout
    try:
        thresholds = parse_thresholds(fail_under)
        if k < 1:
            raise UsageError(f"--k must be >= 1, got {k}")
    except UsageError as exc:
        _stderr(f"run: {exc}")
        return 2
    questions_path = Path(questions_file) if questions_file else DEFAULT_QUESTIONS
    try:
        questions = load_questions(questions_path)
    except FileNotFoundError:
        _stderr(f"run: no such questions file: {questions_path}")
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        _stderr(f"run: cannot read questions file {questions_path}: {exc}")
        return 2
    except ValueError as exc:
        _stderr(f"run: bad questions file: {exc}")
        return 2

    from index.building import NothingToIndex, build_index
    from index.embedding import ModelUnavailable
    from index.settings import Settings
    from index.store import IndexUnavailable

    try:
        settings = Settings.from_env(corpus_dir=corpus, index_dir=index_dir)
    except ValueError as exc:
        _stderr(f"run: bad settings: {exc}")
        return 2
    if not Path(settings.corpus_dir).is_dir():
        _stderr(f"run: corpus directory not found: {settings.corpus_dir}")
        return 2
    problems = validate_questions(questions, settings.corpus_dir)
    if problems:
        _stderr(f"run: {questions_path} does not match corpus {settings.corpus_dir}: {problems[0]}"
                + (f" (and {len(problems) - 1} more; see python -m eval check)" if len(problems) > 1 else ""))
        return 2
    selected = select_split(questions, split)
    if not selected:
        _stderr(f"run: no questions in split {split!r} of {questions_path}")
        return 2

    from retrieval import Assistant
    from eval.baselines import SYSTEM_NAMES, make_systems

    try:
        build = build_index(settings, rebuild=rebuild)
        _stderr(build.summary())
        assistant = Assistant.load(settings=settings)
    except NothingToIndex as exc:
        _stderr(f"run: {exc}")
        return 2
    except (IndexUnavailable, ModelUnavailable) as exc:
        _stderr(f"run: {exc}")
        return 2

    names = SYSTEM_NAMES if baselines else (PRIMARY,)
    systems = []
    for name in names:
        started = time.perf_counter()
        system = make_systems(assistant, (name,), k=k)[0]
        system.setup_seconds = round(time.perf_counter() - started, 3)
        systems.append(system)
    texts = canonical_texts(Path(settings.corpus_dir), assistant.reader)
    for q in selected:  # untimed warm-up: the model's first pass over each input length is slow
        assistant.embed(q.question)
    _stderr(f"running {len(selected)} questions through {len(systems)} system(s): {', '.join(names)}")
    runs = run_benchmark(systems, selected, texts, _stderr)

    results = {
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "questions_file": str(questions_path),
        "corpus": str(settings.corpus_dir),
        "index_dir": str(settings.index_dir),
        "split": split,
        "k": k,
        "n_questions": len(selected),
        "settings": {"fusion": settings.fusion, "arms": list(settings.arms), "k": k,
                     "abstain_threshold": settings.abstain_threshold, "model": settings.model,
                     "chunk_tokens": settings.chunk_tokens, "calibrated_weights": assistant.weights},
        "systems": runs,
    }
    missed = check_thresholds(results, thresholds)
    results["thresholds"] = [f"{s}:{m}={v:g}" for s, m, v in thresholds]
    results["threshold_failures"] = missed

    print(console_report(results, PRIMARY), file=out, flush=True)
    report_dir = Path(report_dir) if report_dir else DEFAULT_REPORT_DIR
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
    written = write_reports(results, report_dir, PRIMARY)
    print(f"\nwrote {report_dir / 'results.json'}, {written['markdown']}, {written['html']}", file=out)
    for line in missed:
        print(f"fail-under: {line}", file=out)
    return 1 if missed else 0
