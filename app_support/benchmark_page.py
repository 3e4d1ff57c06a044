"""The benchmark page: runs `python -m eval run --report DIR` (dev split) and shows eval/reports/latest/results.json
(metrics, charts, per-question table with failures first)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import streamlit as st

from app_support.text import escape_inline

ROOT = Path(__file__).resolve().parent.parent
HEADLINE = (("correct", "Correct"), ("tight_correct", "Short right answer"), ("containment", "Answer contains gold"),
            ("f1", "Token F1"), ("recall@5", "Recall@5"), ("mrr", "MRR"), ("abstention_accuracy", "Abstention accuracy"),
            ("letter_accuracy", "Right letter"), ("confidently_wrong", "Confidently wrong"),
            ("p50_ms", "Median latency (ms)"))
EXPLAINED = {
    "correct": "Share of questions handled right: an answer containing one of the expected answers, "
               "or no answer when the letters do not answer the question.",
    "tight_correct": "Share of answerable questions whose answer contains an expected answer and is short "
                     "(at most twice its words plus four, or twelve words).",
    "containment": "Share of answerable questions whose answer contains one of the expected answers.",
    "f1": "Word overlap between the answer and the expected answer (1 = the same words, 0 = none shared); "
          "rewards short, exact answers.",
    "recall@5": "Share of answerable questions where the passage holding the answer is among the first five "
                "passages found.",
    "mrr": "How high the right passage ranks on average: 1 when it is always first, 0.5 when it is typically "
           "second, and so on.",
    "abstention_accuracy": "Share of questions where the choice to answer or to say “not in the letters” was right.",
    "letter_accuracy": "Share of answers quoted from the letter the question is about.",
    "confidently_wrong": "Share of answers given with confidence 0.8 or more that were wrong.",
    "p50_ms": "Median time to answer one question, in milliseconds.",
}
CHART_METRICS = ("correct", "tight_correct", "containment", "f1", "recall@1", "recall@5", "mrr", "letter_accuracy")


def report_dir() -> Path:
    return Path(os.environ.get("LETTERS_QA_BENCH_REPORT") or ROOT / "eval" / "reports" / "latest")


def load_results(directory: Path) -> dict | None:
    try:
        return json.loads((Path(directory) / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def primary_system(results: dict) -> str | None:
    systems = results.get("systems") or {}
    return "full" if "full" in systems else next(iter(systems), None)


def system_table(results: dict) -> list[dict]:
    """One row per system with the chart metrics."""
    rows = []
    for name, run in (results.get("systems") or {}).items():
        metrics = run.get("metrics") or {}
        rows.append({"system": name, **{m: metrics.get(m) for m in CHART_METRICS}})
    return rows


def question_table(results: dict, system: str | None = None) -> list[dict]:
    """The system's per-question records, failures (and errors) first, then by id."""
    system = system or primary_system(results)
    records = ((results.get("systems") or {}).get(system) or {}).get("records") or []
    rows = []
    for r in records:
        rows.append({
            "correct": bool(r.get("correct")),
            "id": r.get("id"),
            "category": r.get("category"),
            "question": r.get("question"),
            "expected": " | ".join(r.get("answers") or []) or ("(unanswerable)" if not r.get("answerable", True) else ""),
            "answer": r.get("answer") if not r.get("abstained") else "(abstained)",
            "confidence": r.get("confidence"),
            "latency_ms": r.get("latency_ms"),
            "error": r.get("error") or "",
        })
    return sorted(rows, key=lambda row: (row["correct"], not row["error"], str(row["id"])))


def shipped_corpus(source: Path, target: Path) -> Path:
    """A private copy of the shipped letters (the top level of the repository's corpus folder, without
    uploads), so that the benchmark never scores letters people have added. Unchanged files are kept."""
    target.mkdir(parents=True, exist_ok=True)
    wanted = {p.name: p for p in sorted(Path(source).iterdir()) if p.is_file() and not p.name.startswith(".")}
    for stale in target.iterdir():
        if stale.is_file() and stale.name not in wanted:
            stale.unlink()
    for name, path in wanted.items():
        copy = target / name
        stat = path.stat()
        if not copy.is_file() or copy.stat().st_size != stat.st_size or copy.stat().st_mtime_ns != stat.st_mtime_ns:
            shutil.copy2(path, copy)
    return target


def benchmark_index_dir(settings) -> Path:
    """The benchmark's own index, beside the app's (never the live index)."""
    index = Path(settings.index_dir)
    return index.with_name(index.name + "-benchmark")


def benchmark_command(directory: Path, corpus: Path, index_dir: Path, baselines: bool) -> list[str]:
    command = [sys.executable, "-m", "eval", "run", "--report", str(directory), "--corpus", str(corpus),
               "--index-dir", str(index_dir)]
    return command + (["--baselines"] if baselines else [])


def progress_of(lines: list[str]) -> tuple[float, str]:
    """How far `python -m eval run` is, from the lines it has printed so far: indexing, then
    "running N questions through K system(s)", then one "<system>: N questions" line per system."""
    running = next((re.match(r"running (\d+) questions through (\d+) system", line) for line in lines
                    if line.startswith("running ")), None)
    if running:
        questions, systems = int(running.group(1)), int(running.group(2))
        done = sum(1 for line in lines if re.match(rf"^\S+: {questions} questions$", line.strip()))
        return 0.1 + 0.9 * min(done, systems) / systems, \
            f"Answering {questions} questions ({done} of {systems} system{'s' if systems != 1 else ''} done)"
    if any(line.startswith(("indexed ", "index up to date")) for line in lines):
        return 0.1, "Loading the model"
    return 0.02, "Indexing the shipped letters"


def _run(directory: Path, settings, baselines: bool) -> tuple[int, str]:
    """Run the benchmark in a child process with a moving progress bar; a rerun (Cancel) stops it."""
    index_dir = benchmark_index_dir(settings)
    corpus = shipped_corpus(ROOT / "corpus", index_dir.with_name(index_dir.name + "-corpus"))
    lines: list[str] = []
    bar = st.progress(0.0, text="Starting the benchmark…")
    st.button("Cancel", key="bench_cancel")  # clicking it reruns the page, which stops this run
    process = subprocess.Popen(benchmark_command(directory, corpus, index_dir, baselines), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy())
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    started = time.monotonic()
    try:
        while process.poll() is None:
            fraction, text = progress_of(list(lines))
            bar.progress(fraction, text=f"{text} — {time.monotonic() - started:.0f} s")
            time.sleep(0.5)
        reader.join(5)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
    bar.empty()
    output = "".join(lines)
    for folder in sorted({directory, index_dir, corpus, ROOT}, key=lambda f: -len(str(f))):  # no server paths
        output = output.replace(str(folder), Path(folder).name)
    return process.returncode, output


def main() -> None:
    from app_support import admin, resources

    st.title("Benchmark")
    directory = report_dir()
    st.caption("How well Letters QA answers the benchmark questions (eval/questions.jsonl) about the shipped "
               "letters. It runs on its own copy of those letters and its own index, so letters added in the "
               "Chat page never change the scores.")
    if st.session_state.pop("bench_cancel", False):
        st.warning("The benchmark run was cancelled.")
    if admin.is_admin():
        baselines = st.checkbox("Also run the baselines (slower)", key="bench_baselines")
        if st.button("Run the benchmark", key="bench_run", type="primary"):
            code, output = _run(directory, resources.settings(), baselines)
            if code == 0:
                st.success("Benchmark finished.")
            else:
                st.error(f"The benchmark run failed (exit {code}).")
            with st.expander("Output of the run", expanded=code != 0):
                st.code(output.strip()[-6000:] or "(no output)", language=None)
    else:
        admin.passphrase_form(st)

    results = load_results(directory)
    if results is None:
        st.info("No results yet: press “Run the benchmark”.")
        return
    system = primary_system(results)
    if system is None:
        st.warning("results.json holds no systems.")
        return
    metrics = results["systems"][system].get("metrics") or {}
    st.subheader(f"System “{escape_inline(system)}” on {metrics.get('n', '?')} questions")
    st.caption(f"Run at {escape_inline(str(results.get('created', '?')))} · split {escape_inline(str(results.get('split', 'all')))}")
    cols = st.columns(4)
    for i, (key, label) in enumerate(HEADLINE):
        value = metrics.get(key)
        if value is None:
            continue
        shown = f"{value:.0f}" if key.endswith("_ms") else f"{value:.1%}" if isinstance(value, float) else str(value)
        cols[i % 4].metric(label, shown, help=EXPLAINED.get(key))
    if results.get("threshold_failures"):
        st.error("Regression thresholds missed: " + escape_inline("; ".join(map(str, results["threshold_failures"]))))

    import pandas as pd

    systems = system_table(results)
    if len(systems) > 1:
        st.markdown("**Systems compared**")
        st.bar_chart(pd.DataFrame(systems).set_index("system")[["correct", "recall@5", "f1"]], stack=False)
    categories = metrics.get("by_category") or {}
    if categories:
        st.markdown("**Correct answers by question category**")
        st.bar_chart(pd.DataFrame({c: {"correct": v.get("correct"), "recall@5": v.get("recall@5")}
                                   for c, v in categories.items()}).T, stack=False)
    rows = question_table(results, system)
    failures = sum(1 for r in rows if not r["correct"])
    st.markdown(f"**Per question** — {failures} of {len(rows)} not correct (listed first)")
    st.dataframe(pd.DataFrame(rows), hide_index=True,
                 column_config={"correct": st.column_config.CheckboxColumn("correct"),
                                "confidence": st.column_config.NumberColumn(format="%.2f")})
