"""Rendering benchmark results: the console table, report.md and report.html (with charts).

Input is the results dict written to results.json by eval.runner (``{"systems": {name: {"metrics",
"records", "description"}}, ...}``); nothing here runs a model.
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Mapping, Sequence

# the columns of the console table, in order; names are the metric names --fail-under accepts
TABLE_COLUMNS: tuple[str, ...] = (
    "tight_correct", "em", "f1", "containment", "recall@5", "letter_accuracy", "verbatim",
    "abstention_precision", "abstention_recall", "abstention_f1", "false_abstention", "auroc", "ece",
    "confidently_wrong", "answer_words", "p50_ms",
)
# the columns of the breakdowns (by split, category, format, layout tag)
CATEGORY_COLUMNS: tuple[str, ...] = ("n", "tight_correct", "em", "f1", "containment", "recall@5", "letter_accuracy",
                                     "abstention_precision", "abstention_recall", "false_abstention", "auroc",
                                     "ece", "confidently_wrong")
BREAKDOWNS: tuple[str, ...] = ("split", "category", "format", "layout")
CHART_METRICS: tuple[str, ...] = ("tight_correct", "f1", "containment", "recall@5", "letter_accuracy",
                                  "abstention_f1", "auroc", "confidently_wrong")


def fmt(value: Any, metric: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if metric.endswith("_ms"):
        return f"{value:.0f}" if value >= 10 else f"{value:.1f}"
    if isinstance(value, int) or metric in ("n", "errors"):
        return str(int(value))
    if metric == "answer_words":
        return f"{value:.1f}"
    return f"{value:.3f}"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(header)]
    lines = ["  ".join(str(h).ljust(w) if i == 0 else str(h).rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def system_rows(results: Mapping[str, Any], columns: Sequence[str] = TABLE_COLUMNS,
                split: str | None = None) -> list[list[str]]:
    """One row per system: its metrics over the run, or over one split of it."""
    def metrics(run):
        return run["metrics"] if split is None else run["metrics"].get("by_split", {}).get(split, {})
    return [[name, *(fmt(metrics(run).get(c), c) for c in columns)] for name, run in results["systems"].items()]


def split_tables(results: Mapping[str, Any]) -> list[tuple[str, list[list[str]]]]:
    """For a run over several splits: the systems table of each split (train, dev, test)."""
    if results.get("split") != "all":
        return []
    first = next(iter(results["systems"].values()))["metrics"].get("by_split", {})
    return [(split, system_rows(results, split=split)) for split in ("train", "dev", "test") if split in first]


def category_rows(metrics: Mapping[str, Any], group: str = "category") -> list[list[str]]:
    return [[key, *(fmt(v.get(c), c) for c in CATEGORY_COLUMNS)] for key, v in metrics[f"by_{group}"].items()]


METADATA_COLUMNS: tuple[str, ...] = ("n", "sender", "role", "organisation", "recipient", "date", "reference",
                                     "subject", "mean")


def metadata_rows(metadata: Mapping[str, Any]) -> list[list[str]]:
    def row(name, m):
        return [name, fmt(m["n"], "n"), *(fmt(m["fields"][f]) for f in METADATA_COLUMNS[1:-1]), fmt(m["mean"])]
    rows = [row("all letters", metadata)]
    for group in ("split", "format", "layout"):
        rows += [row(f"{group}: {key}", m) for key, m in metadata.get(f"by_{group}", {}).items()]
    return rows


def console_report(results: Mapping[str, Any], primary: str = "full") -> str:
    """The one table (systems × metrics), the letter metadata accuracy, and the primary system's
    figures by split, category, format and layout tag."""
    n = results.get("n_questions")
    out = [f"questions: {n} ({results.get('split', 'all')} split, {results.get('n_letters')} letters) from "
           f"{results.get('questions_file')}", "",
           text_table(["system", *TABLE_COLUMNS], system_rows(results))]
    if "dense-only" in results["systems"]:
        out.append("(dense-only is the no-fusion ablation; every system but full has its own calibration: "
                   "fitted on train, threshold on dev)")
    for split, rows in split_tables(results):
        out += ["", f"{split} split only:", text_table(["system", *TABLE_COLUMNS], rows)]
    if results.get("metadata"):
        out += ["", f"letter metadata extracted by the index (accuracy per field; mean "
                    f"{fmt(results['metadata']['mean'])}):",
                text_table(["letters", *METADATA_COLUMNS], metadata_rows(results["metadata"])[:1 + 3])]
    if primary in results["systems"]:
        for group in ("category", "format"):
            out += ["", f"{primary} by {group}:",
                    text_table([group, *CATEGORY_COLUMNS], category_rows(results["systems"][primary]["metrics"], group))]
    return "\n".join(out)


# --- charts -------------------------------------------------------------------------------------
def _figure_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    return buffer.getvalue()


def charts(results: Mapping[str, Any], primary: str = "full") -> dict[str, bytes]:
    """PNG bytes: metric bars per system, latency per system, per-category accuracy."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(results["systems"])
    metrics = {s: results["systems"][s]["metrics"] for s in systems}
    colours = plt.get_cmap("tab10")
    out: dict[str, bytes] = {}

    fig, ax = plt.subplots(figsize=(max(7, 1.3 * len(CHART_METRICS)), 3.8))
    width = 0.8 / max(1, len(systems))
    for i, system in enumerate(systems):
        values = [metrics[system].get(m) or 0.0 for m in CHART_METRICS]
        ax.bar([x + i * width for x in range(len(CHART_METRICS))], values, width, label=system, color=colours(i % 10))
    ax.set_xticks([x + width * (len(systems) - 1) / 2 for x in range(len(CHART_METRICS))], CHART_METRICS,
                  rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title("Metrics per system")
    ax.legend(fontsize=7, ncol=min(4, len(systems)), loc="upper center", bbox_to_anchor=(0.5, -0.28))
    ax.grid(axis="y", alpha=0.3)
    out["metrics.png"] = _figure_png(fig)

    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(systems)), 3.2))
    p50 = [metrics[s].get("p50_ms") or 0.0 for s in systems]
    p95 = [metrics[s].get("p95_ms") or 0.0 for s in systems]
    xs = range(len(systems))
    ax.bar([x - 0.2 for x in xs], p50, 0.4, label="p50")
    ax.bar([x + 0.2 for x in xs], p95, 0.4, label="p95")
    ax.set_xticks(list(xs), systems, rotation=20, ha="right")
    ax.set_ylabel("ms per question")
    ax.set_title("Latency")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    out["latency.png"] = _figure_png(fig)

    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1, label="perfect calibration")
    for i, system in enumerate(systems):
        bins = [b for b in metrics[system].get("reliability", []) if b["n"]]
        if bins and (system == primary or len(systems) <= 4):
            ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
                    label=f"{system} (ECE {fmt(metrics[system].get('ece'))})", color=colours(i % 10))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("confidence (mean in bin)")
    ax.set_ylabel("share answered tight-correct")
    ax.set_title("Reliability diagram (10 bins)")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    out["reliability.png"] = _figure_png(fig)

    shown = [s for s in (primary, "best-sentence", "rag-recipe") if s in metrics]
    if shown:
        categories = list(metrics[shown[0]]["by_category"])
        fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(categories)), 3.4))
        width = 0.8 / len(shown)
        for i, system in enumerate(shown):
            values = [metrics[system]["by_category"].get(c, {}).get("correct") or 0.0 for c in categories]
            ax.bar([x + i * width for x in range(len(categories))], values, width, label=system, color=colours(i))
        ax.set_xticks([x + width * (len(shown) - 1) / 2 for x in range(len(categories))], categories,
                      rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("correct (tight answer / right abstention)")
        ax.set_title("Accuracy per category")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        out["categories.png"] = _figure_png(fig)
    return out


# --- per-question table -------------------------------------------------------------------------
def question_rows(results: Mapping[str, Any], primary: str = "full") -> list[dict]:
    """The primary system's records, failures first (then by id), with every system's verdict. Test
    questions are never listed one by one (results.json has them)."""
    systems = results["systems"]
    verdicts = {name: {r["id"]: r["correct"] for r in run["records"]} for name, run in systems.items()}
    rows = []
    for r in systems[primary]["records"]:
        if r.get("split") == "test":
            continue
        rows.append({**r, "verdicts": {name: verdicts[name].get(r["id"]) for name in systems}})
    return sorted(rows, key=lambda r: (r["correct"], r["id"]))


def _status(r: Mapping[str, Any]) -> str:
    if r.get("error"):
        return f"error: {r['error']}"
    problems = r["scores"].get("verbatim_problems")
    if problems:
        return "not verbatim: " + "; ".join(problems)
    if not r["answerable"]:
        return "ok (abstained)" if r["abstained"] else "answered an unanswerable question"
    if r["abstained"]:
        return "abstained (answerable)"
    if r["scores"].get("tight_correct"):
        return "ok"
    if r["scores"].get("containment"):
        return "gold inside a long answer"
    if r["scores"].get("letter_ok") == 0.0:
        return "wrong letter"
    if not r["scores"].get("recall@5"):
        return "gold passage not retrieved"
    return "gold not in answer"


# --- markdown -----------------------------------------------------------------------------------
def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _clip(text: str | None, n: int = 90) -> str:
    if text is None:
        return "—"
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


WITHHELD = ("Per-question rows are not shown for the test split (they are in results.json): the test "
            "split is looked at only in aggregate.")
# a run over all splits lists train and dev questions only (question_rows leaves test out)


def per_question_shown(results: Mapping[str, Any]) -> bool:
    return results.get("split") != "test"


def calibration_rows(results: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for name, run in results["systems"].items():
        c = run.get("calibration")
        if not c:
            rows.append([name, "shipped (retrieval/answer_model.json, eval fit), threshold "
                               f"{results.get('settings', {}).get('abstain_threshold')}"])
        else:
            rows.append([name, f"{c['kind']}: fitted on {c['n_train']} train answers, threshold {c['threshold']} "
                               f"(dev decision accuracy {fmt(c['dev_decision_accuracy'])})"])
    return rows


def markdown_report(results: Mapping[str, Any], primary: str = "full", images: Sequence[str] = ()) -> str:
    systems = results["systems"]
    parts = ["# Letters QA benchmark", "",
             f"{results.get('n_questions')} questions ({results.get('split')} split) from "
             f"`{results.get('questions_file')}`, corpus `{results.get('corpus')}`, "
             f"{results.get('created')}.", "",
             "## Systems", "",
             _md_table(["system", "what it is"], [[n, run.get("description", "")] for n, run in systems.items()]),
             "", "## Metrics", "",
             _md_table(["system", *TABLE_COLUMNS], system_rows(results)), ""]
    for split, rows in split_tables(results):
        parts += [f"### {split} split only", "", _md_table(["system", *TABLE_COLUMNS], rows), ""]
    parts += [f"![{Path(name).stem}]({name})" for name in images]
    parts += ["", "## Calibration of each system", "", _md_table(["system", "calibration"], calibration_rows(results))]
    if results.get("metadata"):
        parts += ["", f"## Letter metadata extracted by the index (mean {fmt(results['metadata']['mean'])})", "",
                  _md_table(["letters", *METADATA_COLUMNS], metadata_rows(results["metadata"]))]
    if primary in systems:
        for group in BREAKDOWNS:
            parts += ["", f"## {primary}: by {group}", "",
                      _md_table([group, *CATEGORY_COLUMNS], category_rows(systems[primary]["metrics"], group))]
        if not per_question_shown(results):
            parts += ["", WITHHELD]
            return "\n".join(parts) + "\n"
        parts += ["", f"## {primary}: per question (failures first)", ""]
        names = list(systems)
        rows = []
        for r in question_rows(results, primary):
            rows.append([r["id"], r["category"], r["split"], _clip(r["question"], 70),
                         _clip(r["answers"][0] if r["answers"] else None, 40), _clip(r["answer"], 60),
                         fmt(r.get("confidence")), _status(r),
                         " ".join(("✓" if r["verdicts"][n] else "✗") for n in names)])
        parts.append(_md_table(["id", "category", "split", "question", "gold", "answer", "conf", "status",
                                "verdicts (" + ", ".join(names) + ")"], rows))
    if results.get("threshold_failures"):
        parts += ["", "## Missed thresholds", ""] + [f"- {line}" for line in results["threshold_failures"]]
    return "\n".join(parts) + "\n"


# --- html ---------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
th{background:#f2f2f2;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fail td{background:#fff1f0} tr.ok td{background:#f6fff4}
img{max-width:100%;margin:0.5em 1em 0.5em 0;border:1px solid #eee}
.small{color:#666;font-size:12px}
"""


def _h(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    out = ["<table><thead><tr>", *(f"<th>{_h(h)}</th>" for h in header), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td class='num'>{_h(c)}</td>" if i >= numeric_from else f"<td>{_h(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def html_report(results: Mapping[str, Any], images: Mapping[str, bytes], primary: str = "full") -> str:
    systems = results["systems"]
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Letters QA benchmark</title>",
             f"<style>{_CSS}</style></head><body>",
             "<h1>Letters QA benchmark</h1>",
             f"<p class='small'>{_h(results.get('n_questions'))} questions ({_h(results.get('split'))} split) from "
             f"<code>{_h(results.get('questions_file'))}</code>; corpus <code>{_h(results.get('corpus'))}</code>; "
             f"{_h(results.get('created'))}</p>",
             "<h2>Metrics</h2>",
             _html_table(["system", *TABLE_COLUMNS], system_rows(results)),
             *(f"<h3>{_h(split)} split only</h3>" + _html_table(["system", *TABLE_COLUMNS], rows)
               for split, rows in split_tables(results)),
             "<ul class='small'>" + "".join(f"<li><b>{_h(n)}</b>: {_h(run.get('description'))}</li>"
                                            for n, run in systems.items()) + "</ul>",
             "<p class='small'>tight_correct: a gold answer inside an answer of at most max(2×gold words+4, 12) "
             "words; em/f1: SQuAD; containment: the lenient figure. Answer metrics are over answerable questions "
             "(an abstention scores 0); letter_accuracy over answered answerable questions; abstention: "
             "“abstained on an unanswerable question” is the positive class; auroc/ece/confidently_wrong: "
             "confidence against “answered tight-correct”, over all questions. See eval/README.md.</p>",
             "<h2>Calibration of each system</h2>",
             _html_table(["system", "calibration"], calibration_rows(results), numeric_from=9)]
    for name, png in images.items():
        parts.append(f"<img alt='{_h(name)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
    if results.get("threshold_failures"):
        parts.append("<h2>Missed thresholds</h2><ul>" +
                     "".join(f"<li>{_h(x)}</li>" for x in results["threshold_failures"]) + "</ul>")
    if results.get("metadata"):
        parts += [f"<h2>Letter metadata extracted by the index (mean {fmt(results['metadata']['mean'])})</h2>",
                  _html_table(["letters", *METADATA_COLUMNS], metadata_rows(results["metadata"]))]
    if primary in systems:
        for group in BREAKDOWNS:
            parts += [f"<h2>{_h(primary)}: by {group}</h2>",
                      _html_table([group, *CATEGORY_COLUMNS], category_rows(systems[primary]["metrics"], group))]
        if not per_question_shown(results):
            parts += [f"<p>{_h(WITHHELD)}</p></body></html>"]
            return "\n".join(parts)
        names = list(systems)
        rows = question_rows(results, primary)
        n_fail = sum(1 for r in rows if not r["correct"])
        parts.append(f"<h2>{_h(primary)}: per question</h2><p class='small'>{n_fail} of {len(rows)} "
                     f"failing, listed first. Verdict columns: ✓ correct (tight-correct answer, or abstained on an "
                     f"unanswerable question), ✗ otherwise.</p>")
        header = ["id", "category", "split", "question", "gold answers", "answer", "conf", "cited", "gold span",
                  "first relevant passage", "status", *names]
        out = ["<table><thead><tr>", *(f"<th>{_h(h)}</th>" for h in header), "</tr></thead><tbody>"]
        for r in rows:
            cells = [r["id"], r["category"], r["split"], r["question"], " | ".join(r["answers"]) or "—",
                     "(abstained)" if r["abstained"] else (r["answer"] or "—"), fmt(r.get("confidence")),
                     ":".join(str(x) for x in r["citation"]) if r.get("citation") else "—",
                     ":".join(str(x) for x in r["gold"]) if r.get("gold") else "—",
                     r["scores"].get("first_relevant") or "—", _status(r),
                     *("✓" if r["verdicts"][n] else "✗" for n in names)]
            out.append(f"<tr class='{'ok' if r['correct'] else 'fail'}'>" + "".join(f"<td>{_h(c)}</td>" for c in cells)
                       + "</tr>")
        out.append("</tbody></table>")
        parts.append("".join(out))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_reports(results: Mapping[str, Any], directory: Path, primary: str = "full") -> dict[str, Path]:
    """report.md, report.html and the chart PNGs (also embedded in the HTML) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    images = charts(results, primary)
    for name, png in images.items():
        (directory / name).write_bytes(png)
    md = directory / "report.md"
    md.write_text(markdown_report(results, primary, list(images)), encoding="utf-8")
    page = directory / "report.html"
    page.write_text(html_report(results, images, primary), encoding="utf-8")
    return {"markdown": md, "html": page}
