"""Running the benchmark: ``python -m eval run``.

Builds (or incrementally updates) its own index of the benchmark letters (``eval/letters/`` into the
git-ignored ``.letters_qa_eval_index/``), loads the assistant once, sends every question of the chosen
split through each system, times each answer, scores it (eval.metrics), scores the index's extracted
letter metadata against the catalogue, prints one table (or, with --json, one JSON object) and writes
results.json, report.md and report.html (eval.report).

Systems with their own calibration (every one but full) also answer the train and dev questions:
they are fitted on train and their threshold is chosen on dev before the chosen split is scored.

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

from eval.catalogue import CATALOGUE_FILE, LETTERS_DIR, META_FIELDS, Letter, format_of, load_catalogue, text_reader
from eval.metrics import LOWER_IS_BETTER, METRICS, aggregate, metadata_scores, score_response
from eval.questions import Question, load_questions, validate_questions, validate_splits

REPO = Path(__file__).resolve().parent.parent
DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"
DEFAULT_REPORT_DIR = Path(__file__).resolve().parent / "reports" / "latest"
DEFAULT_INDEX_DIR = REPO / ".letters_qa_eval_index"
THRESHOLD_METRICS: tuple[str, ...] = (*METRICS, "errors", "correct", "metadata_accuracy")
# the figures `--json` prints for the full system (and, with --baselines, for each system)
SUMMARY: tuple[str, ...] = ("tight_correct", "em", "f1", "containment", "letter_accuracy", "verbatim",
                            "abstention_precision", "abstention_recall", "abstention_f1", "false_abstention",
                            "auroc", "ece", "confidently_wrong", "recall@5", "answer_words", "p50_ms")
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
        value = results["metadata"]["mean"] if metric == "metadata_accuracy" else run["metrics"].get(metric)
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


def _ask(system, q: Question) -> tuple[dict | None, float, str | None]:
    started = time.perf_counter()
    try:
        response, error = system.ask(q.question), None
    except Exception as exc:  # noqa: BLE001 - one bad question must not stop the benchmark
        response, error = None, f"{type(exc).__name__}: {exc}"
    return response, round((time.perf_counter() - started) * 1000.0, 2), error


def run_system(system, selected: Sequence[Question], questions: Sequence[Question],
               text_for_source: Callable[[str], str], letters: dict[str, Letter],
               progress: Callable[[str], None] | None = None) -> dict:
    """One system over the selected questions: {"description", "setup_seconds", "calibration",
    "metrics", "records"}. A system with its own calibration first answers train and dev and is fitted."""
    train = [q for q in questions if q.split == "train"]
    dev = [q for q in questions if q.split == "dev"]
    calibration = getattr(system, "calibration", None)
    started = time.perf_counter()
    system.prepare(train)
    pool = list(selected) if calibration is None else list({q.id: q for q in [*train, *dev, *selected]}.values())
    if pool:
        try:
            system.ask(pool[0].question)  # warm-up, untimed
        except Exception:  # noqa: BLE001 - the real call below records the error
            pass
    raw = {q.id: _ask(system, q) for q in pool}
    report = None
    if calibration is not None:
        report = calibration.fit([(q, raw[q.id][0]) for q in train if raw[q.id][0] is not None],
                                 [(q, raw[q.id][0]) for q in dev if raw[q.id][0] is not None])
    records = []
    for q in selected:
        response, latency, error = raw[q.id]
        if calibration is not None and response is not None:
            response = calibration.apply(response)
        record = score_response(dataclasses.asdict(q), response, text_for_source, latency, error)
        letter = letters.get(q.source) if q.source else None
        record["format"] = letter.format if letter else (format_of(q.source) if q.source else None)
        record["layout"] = list(letter.layout) if letter else []
        records.append(record)
    if progress:
        progress(f"{system.name}: {len(selected)} questions ({len(pool)} asked) in "
                 f"{time.perf_counter() - started:.1f} s")
    return {"description": getattr(system, "description", ""), "setup_seconds": getattr(system, "setup_seconds", None),
            "calibration": report, "metrics": aggregate(records), "records": records}


def metadata_report(letters: Sequence[Letter], extracted: dict[str, dict]) -> dict:
    """Per-field accuracy of the index's extracted metadata against the catalogue's gold, over these
    letters, with the mean over fields and the same by split, format and layout tag."""
    rows = []
    for letter in letters:
        found = extracted.get(letter.source, {})
        gold = letter.metadata.to_json()
        rows.append({"source": letter.source, "split": letter.split, "format": letter.format,
                     "layout": list(letter.layout), "scores": metadata_scores(found, gold, META_FIELDS),
                     "extracted": {f: found.get(f) for f in META_FIELDS}, "gold": gold})

    def summary(subset: list[dict]) -> dict:
        fields = {f: (sum(r["scores"][f] for r in subset) / len(subset) if subset else None) for f in META_FIELDS}
        values = [v for v in fields.values() if v is not None]
        return {"n": len(subset), "fields": fields, "mean": sum(values) / len(values) if values else None}

    out = {**summary(rows), "letters": rows}
    for group in ("split", "format", "layout"):
        keys: dict[str, list[dict]] = {}
        for r in rows:
            for value in (r[group] if isinstance(r[group], list) else [r[group]]):
                keys.setdefault(value, []).append(r)
        out[f"by_{group}"] = {k: summary(v) for k, v in sorted(keys.items())}
    return out


def summary_json(results: dict) -> dict:
    """The one JSON object of ``--json``: the full system's figures, and each system's with --baselines."""
    full = results["systems"][PRIMARY]["metrics"]
    out = {"split": results["split"], "letters": results["n_letters"], "questions": results["n_questions"],
           "answerable": full["n_answerable"], "unanswerable": full["n_unanswerable"],
           **{m: full.get(m) for m in SUMMARY}, "metadata_accuracy": results["metadata"]["mean"],
           "metadata_fields": results["metadata"]["fields"]}
    if len(results["systems"]) > 1:
        out["systems"] = {name: {m: run["metrics"].get(m) for m in SUMMARY}
                          for name, run in results["systems"].items()}
    return out


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _read(load, path: Path, missing: str, bad: str):
    """`load(path)`, with a missing, unreadable or malformed file as a one-line UsageError."""
    try:
        return load(path)
    except FileNotFoundError:
        raise UsageError(missing) from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise UsageError(f"{bad}: {exc}") from None


def _load_inputs(questions_path: Path, catalogue_path: Path | None, corpus: Path) -> tuple[list[Question], list[Letter]]:
    """Questions and catalogue, checked against the letters; UsageError with one line otherwise."""
    questions = _read(load_questions, questions_path, missing=f"no such questions file: {questions_path}",
                      bad="bad questions file")
    if corpus.is_dir() and corpus.resolve() != LETTERS_DIR.resolve():
        # another folder of letters (the app's shipped corpus): the benchmark's questions about those letters
        present = {p.relative_to(corpus).as_posix() for p in corpus.rglob("*") if p.is_file()}
        questions = [q for q in questions if q.source is None or q.source in present]
    letters: list[Letter] = []
    if catalogue_path is not None:
        letters = _read(load_catalogue, catalogue_path,
                        missing=f"no such catalogue: {catalogue_path} (run python -m eval compile)", bad="bad catalogue")
    if not corpus.is_dir():
        raise UsageError(f"corpus directory not found: {corpus}")
    problems = validate_questions(questions, corpus, text_reader(corpus))
    if letters:
        problems += validate_splits(questions, {x.source: x.split for x in letters})
    if problems:
        more = f" (and {len(problems) - 1} more; see python -m eval check)" if len(problems) > 1 else ""
        raise UsageError(f"{questions_path} does not match the letters in {corpus}: {problems[0]}{more}")
    return questions, letters


def run_command(questions_file: str | Path | None = None, corpus: str | Path | None = None,
                index_dir: str | Path | None = None, baselines: bool = False,
                report_dir: str | Path | None = None, split: str = "dev", fail_under: Iterable[str] | None = None,
                k: int = 10, out=None, rebuild: bool = False, as_json: bool = False,
                catalogue: str | Path | None = None) -> int:
    """The body of ``python -m eval run``; returns the exit code (0 ok, 1 missed threshold, 2 unusable).

    Defaults: the benchmark's letters (eval/letters), catalogue (eval/letters.jsonl; with --corpus only
    when --catalogue is given) and questions, and its own index (.letters_qa_eval_index). The
    LETTERS_QA_CORPUS / LETTERS_QA_INDEX variables of the app are deliberately not used here.
    """
    from eval.report import console_report, write_reports

    out = out or sys.stdout
    questions_path = Path(questions_file) if questions_file else DEFAULT_QUESTIONS
    corpus_dir = Path(corpus) if corpus else LETTERS_DIR
    catalogue_path = Path(catalogue) if catalogue else (CATALOGUE_FILE if corpus is None else None)
    try:
        thresholds = parse_thresholds(fail_under)
        if k < 1:
            raise UsageError(f"--k must be >= 1, got {k}")
        questions, letters = _load_inputs(questions_path, catalogue_path, corpus_dir)
        selected = select_split(questions, split)
        if not selected:
            raise UsageError(f"no questions in split {split!r} of {questions_path}")
    except UsageError as exc:
        _stderr(f"run: {exc}")
        return 2

    from index.building import NothingToIndex, build_index
    from index.embedding import ModelUnavailable
    from index.settings import Settings
    from index.store import IndexUnavailable
    from retrieval import Assistant
    from eval.baselines import SYSTEM_NAMES, make_systems

    try:
        settings = Settings.from_env(corpus_dir=corpus_dir, index_dir=Path(index_dir) if index_dir else DEFAULT_INDEX_DIR)
        build = build_index(settings, rebuild=rebuild)
        _stderr(build.summary())
        assistant = Assistant.load(settings=settings)
    except ValueError as exc:
        _stderr(f"run: bad settings: {exc}")
        return 2
    except (NothingToIndex, IndexUnavailable, ModelUnavailable) as exc:
        _stderr(f"run: {exc}")
        return 2

    names = SYSTEM_NAMES if baselines else (PRIMARY,)
    systems = []
    for name in names:
        started = time.perf_counter()
        system = make_systems(assistant, (name,), k=k)[0]
        system.setup_seconds = round(time.perf_counter() - started, 3)
        systems.append(system)
    texts = text_reader(corpus_dir)
    by_source = {x.source: x for x in letters}
    asked = {q.id: q for q in (questions if baselines else selected)}
    for q in asked.values():  # untimed warm-up: the model's first pass over each input length is slow
        assistant.embed(q.question)
    _stderr(f"running {len(selected)} {split} questions through {len(systems)} system(s): {', '.join(names)}")
    runs = {s.name: run_system(s, selected, questions, texts, by_source, _stderr) for s in systems}

    chosen = [x for x in letters if split == "all" or x.split == split]
    extracted = {d.source: d.metadata.to_json() for d in assistant.documents}
    results = {
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "questions_file": str(questions_path),
        "catalogue": str(catalogue_path) if catalogue_path else None,
        "corpus": str(settings.corpus_dir),
        "index_dir": str(settings.index_dir),
        "split": split,
        "k": k,
        "n_questions": len(selected),
        "n_letters": len(chosen) if letters else len({q.source for q in selected} - {None}),
        "settings": {"fusion": settings.fusion, "arms": list(settings.arms), "k": k,
                     "abstain_threshold": settings.abstain_threshold, "model": settings.model,
                     "chunk_tokens": settings.chunk_tokens, "calibrated_weights": assistant.weights},
        "metadata": metadata_report(chosen, extracted),
        "systems": runs,
    }
    missed = check_thresholds(results, thresholds)
    results["thresholds"] = [f"{s}:{m}={v:g}" for s, m, v in thresholds]
    results["threshold_failures"] = missed

    report_dir = Path(report_dir) if report_dir else DEFAULT_REPORT_DIR
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
    written = write_reports(results, report_dir, PRIMARY)
    if as_json:
        print(json.dumps(summary_json(results), ensure_ascii=False), file=out, flush=True)
        _stderr(f"wrote {report_dir / 'results.json'}, {written['markdown']}, {written['html']}")
        for line in missed:
            _stderr(f"fail-under: {line}")
    else:
        print(console_report(results, PRIMARY), file=out, flush=True)
        print(f"\nwrote {report_dir / 'results.json'}, {written['markdown']}, {written['html']}", file=out)
        for line in missed:
            print(f"fail-under: {line}", file=out)
    return 1 if missed else 0
