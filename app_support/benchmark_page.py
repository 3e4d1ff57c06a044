"""The benchmark page: runs `python -m eval run --report DIR` (dev split) and shows eval/reports/latest/results.json
(metrics, charts, per-question table with failures first)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import streamlit as st

from app_support.text import escape_inline

ROOT = Path(__file__).resolve().parent.parent
HEADLINE = (("correct", "Correct"), ("tight_correct", "Short right answer"), ("containment", "Answer contains gold"),
            ("f1", "Token F1"), ("recall@5", "Recall@5"), ("mrr", "MRR"), ("abstention_accuracy", "Abstention accuracy"),
            ("letter_accuracy", "Right letter"), ("confidently_wrong", "Confidently wrong"),
            ("p50_ms", "Median latency (ms)"))
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


def run_benchmark(directory: Path, baselines: bool = False, timeout: float = 1800) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "eval", "run", "--report", str(directory)]
    if baselines:
        command.append("--baselines")
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def main() -> None:
    st.title("Benchmark")
    directory = report_dir()
    st.caption(f"The question benchmark (eval/questions.jsonl). Report folder: {escape_inline(str(directory))}")
    baselines = st.checkbox("Also run the baselines (slower)", key="bench_baselines")
    if st.button("Run the benchmark", key="bench_run", type="primary"):
        with st.spinner("Running `python -m eval run` — this takes a minute or two…"):
            try:
                done = run_benchmark(directory, baselines)
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired:
                code, out, err = -1, "", "the benchmark took too long and was stopped"
        if code == 0:
            st.success("Benchmark finished.")
        else:
            st.error(f"The benchmark run failed (exit {code}).")
        with st.expander("Output of the run", expanded=code != 0):
            st.code((out + "\n" + err).strip()[-6000:] or "(no output)", language=None)

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
        cols[i % 4].metric(label, shown)
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
