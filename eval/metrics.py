"""Benchmark metrics: pure functions over plain data (strings, numbers, dicts). No model, no index.

Answer metrics (SQuAD style, on normalised text)
  normalise       lower-case; drop HTML tags (``<sup>``), markdown ``*``/``_``/backticks and
                  punctuation (currency signs and % are kept); collapse whitespace. Articles are
                  kept: gold answers are verbatim extracts, so they rarely differ by "the".
  exact_match     1.0 when the normalised prediction equals some normalised gold answer.
  token_f1        best token-level F1 over the gold answers.
  containment     1.0 when some normalised gold answer occurs in the normalised prediction as whole
                  words (" may 2017 " inside " in may 2017 "), so a longer but correct extract counts.
  answer_words    length of the prediction in words.

Retrieval metrics (ranked passages against the gold span)
  A passage ``(source, char_start, char_end)`` is *relevant* when it is from the gold source and
  either contains the whole gold span (``char_start <= gold_start and gold_end <= char_end``) or
  covers at least half of it (``overlap >= 0.5 * gold length``). The second rule exists because
  chunkers cut at sentence boundaries that need not match the gold span's (a gold clause can
  straddle two chunks); a passage showing half the supporting sentence still lets a reader find it.
  recall@k        1.0 when a relevant passage is in the top k.
  reciprocal_rank 1/rank of the first relevant passage (0 when none); averaged it is MRR.
  ndcg@k          binary gains, log2 discount; the ideal ordering is the same judgements sorted
                  (every relevant passage retrieved, placed first). Relevant passages the system
                  did not return at all are unknown to us, so a ranking with no relevant passage
                  scores 0 and one with its only relevant passage first scores 1.

Citation metrics
  letter_ok       citations[0].source == gold source.
  span_iou        character IoU of citations[0] [char_start, char_end) with the gold span
                  (0 when the letter differs).
  verbatim        every citation quote and passage text equals canonical[char_start:char_end];
                  the answer is a substring of citations[0].quote and equals
                  canonical[answer_start:answer_end] when those offsets are given.

Abstention (positive class: "the system abstained")
  abstention_precision  unanswerable among abstentions.
  abstention_recall     abstentions among unanswerable questions.
  false_abstention      abstentions among answerable questions.
  abstention_accuracy   answer/abstain decisions that match answerable/unanswerable.

Per-question records are dicts made by ``score_response``; ``aggregate`` averages them. Answer
metrics (em, f1, containment) are over all answerable questions, an abstention or error scoring 0
(SQuAD 2.0 convention). Citation quality (letter_acc, span_iou) is over the answerable questions
the system did answer — abstentions are counted by false_abstention instead. Retrieval metrics are
over all answerable questions (an abstention still returns its closest passages).
"""
from __future__ import annotations

import math
import re
import string
from collections import Counter
from typing import Any, Callable, Iterable, Mapping, Sequence

Span = tuple[str, int, int]  # (source, char_start, char_end)

_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_MARKUP = re.compile(r"[*_`]+")
_PUNCT = set(string.punctuation) | set("‘’“”–—…•£€")
_KEEP = {"£", "€", "$", "%"}  # currency and percent carry meaning in amounts: "£6k" stays "£6k"


def normalise(text: str | None) -> str:
    """Lower-case; strip HTML tags and markdown emphasis; punctuation -> space; collapse whitespace.

    Currency signs and % are kept ("£6k" != "6k" would be too strict the other way round, but a
    prediction "£6k" must contain the gold "£6k").
    """
    if not text:
        return ""
    text = _TAG.sub("", text)
    text = _MARKUP.sub(" ", text)
    text = text.lower()
    text = "".join(" " if ch in _PUNCT and ch not in _KEEP else ch for ch in text)
    return " ".join(text.split())


def _words(text: str | None) -> list[str]:
    return normalise(text).split()


def exact_match(prediction: str | None, answers: Sequence[str]) -> float:
    pred = normalise(prediction)
    if not pred:
        return 0.0
    return float(any(pred == normalise(a) for a in answers))


def _f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return 0.0
    common = Counter(pred) & Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str | None, answers: Sequence[str]) -> float:
    pred = _words(prediction)
    return max((_f1(pred, _words(a)) for a in answers), default=0.0)


def containment(prediction: str | None, answers: Sequence[str]) -> float:
    pred = normalise(prediction)
    if not pred:
        return 0.0
    padded = f" {pred} "
    return float(any(g and f" {g} " in padded for g in (normalise(a) for a in answers)))


def answer_words(prediction: str | None) -> int:
    return len(prediction.split()) if prediction else 0


# --- retrieval ----------------------------------------------------------------------------------
def is_relevant(passage: Span, gold: Span, min_overlap: float = 0.5) -> bool:
    source, start, end = passage
    g_source, g_start, g_end = gold
    if source != g_source:
        return False
    if start <= g_start and g_end <= end:
        return True
    shared = min(end, g_end) - max(start, g_start)
    return shared > 0 and shared >= min_overlap * (g_end - g_start)


def relevances(ranking: Sequence[Span], gold: Span) -> list[bool]:
    return [is_relevant(tuple(p), tuple(gold)) for p in ranking]


def recall_at(rel: Sequence[bool], k: int) -> float:
    return float(any(rel[:k]))


def reciprocal_rank(rel: Sequence[bool]) -> float:
    for rank, hit in enumerate(rel, start=1):
        if hit:
            return 1.0 / rank
    return 0.0


def ndcg_at(rel: Sequence[bool], k: int) -> float:
    gains = [1.0 if r else 0.0 for r in rel[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted((1.0 if r else 0.0 for r in rel), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


# --- citations ----------------------------------------------------------------------------------
def span_iou(a: Span, b: Span) -> float:
    if a[0] != b[0]:
        return 0.0
    inter = max(0, min(a[2], b[2]) - max(a[1], b[1]))
    union = max(a[2], b[2]) - min(a[1], b[1])
    return inter / union if union > 0 else 0.0


def verbatim_failures(response: Mapping[str, Any], text_for_source: Callable[[str], str]) -> tuple[int, list[str]]:
    """(number of items checked, problems) for one contract answer object."""
    checked, problems = 0, []
    cache: dict[str, str | None] = {}

    def text(source: str) -> str | None:
        if source not in cache:
            try:
                cache[source] = text_for_source(source)
            except (OSError, KeyError, ValueError, UnicodeDecodeError):
                cache[source] = None
        return cache[source]

    for kind, items, field in (("citation", response.get("citations") or [], "quote"),
                               ("passage", response.get("passages") or [], "text")):
        for i, item in enumerate(items):
            checked += 1
            canonical = text(item.get("source", ""))
            if canonical is None:
                problems.append(f"{kind} {i}: no canonical text for source {item.get('source')!r}")
            elif canonical[item["char_start"]:item["char_end"]] != item[field]:
                problems.append(f"{kind} {i}: {item.get('source')}[{item['char_start']}:{item['char_end']}] "
                                f"!= {field}")
    citations = response.get("citations") or []
    answer = response.get("answer")
    if not response.get("abstained") and answer is not None and citations:
        top = citations[0]
        checked += 1
        if answer not in top.get("quote", ""):
            problems.append("answer is not a substring of citations[0].quote")
        if top.get("answer_start") is not None and top.get("answer_end") is not None:
            checked += 1
            canonical = text(top.get("source", ""))
            if canonical is not None and canonical[top["answer_start"]:top["answer_end"]] != answer:
                problems.append(f"citations[0] answer span [{top['answer_start']}:{top['answer_end']}] != answer")
    return checked, problems


# --- one question -------------------------------------------------------------------------------
def score_response(question: Mapping[str, Any], response: Mapping[str, Any] | None,
                   text_for_source: Callable[[str], str], latency_ms: float | None = None,
                   error: str | None = None) -> dict:
    """A per-question record: the gold fields, what the system said, and its scores.

    ``question`` needs id, category, split, answerable, answers, source, char_start, char_end
    (a ``dataclasses.asdict(Question)`` works); ``response`` is a contract answer object or None
    when the system raised (``error``).
    """
    response = response or {}
    answers = list(question.get("answers") or [])
    answerable = bool(question["answerable"])
    abstained = bool(response.get("abstained")) if not error else False
    answer = None if (abstained or error) else response.get("answer")
    citations = response.get("citations") or []
    passages = response.get("passages") or []
    ranking = [(p["source"], p["char_start"], p["char_end"]) for p in passages]
    record = {
        "id": question["id"],
        "question": question.get("question"),
        "category": question.get("category"),
        "split": question.get("split"),
        "answerable": answerable,
        "answers": answers,
        "gold": ([question["source"], question["char_start"], question["char_end"]] if answerable else None),
        "answer": answer,
        "abstained": abstained,
        "confidence": response.get("confidence"),
        "error": error,
        "latency_ms": latency_ms,
        "citation": ([citations[0]["source"], citations[0]["char_start"], citations[0]["char_end"]]
                     if citations else None),
        "ranking": [list(r) for r in ranking],
        "signals": response.get("signals"),
        "answer_type": response.get("answer_type"),
    }
    checked, problems = verbatim_failures(response, text_for_source) if not error else (0, [])
    scores: dict[str, Any] = {"verbatim_checked": checked, "verbatim_problems": problems,
                              "answer_words": answer_words(answer)}
    if answerable:
        gold = (question["source"], question["char_start"], question["char_end"])
        rel = relevances(ranking, gold)
        scores.update({
            "em": exact_match(answer, answers),
            "f1": token_f1(answer, answers),
            "containment": containment(answer, answers),
            "recall@1": recall_at(rel, 1),
            "recall@5": recall_at(rel, 5),
            "rr": reciprocal_rank(rel),
            "ndcg@10": ndcg_at(rel, 10),
            "first_relevant": next((i for i, r in enumerate(rel, 1) if r), None),
        })
        if answer is not None and citations:
            top = (citations[0]["source"], citations[0]["char_start"], citations[0]["char_end"])
            scores["letter_ok"] = float(top[0] == gold[0])
            scores["span_iou"] = span_iou(top, gold)
    record["scores"] = scores
    record["correct"] = is_correct(record)
    return record


def is_correct(record: Mapping[str, Any]) -> bool:
    """The end-to-end verdict used for 'failures first': a right answer, or a right abstention,
    with every citation and passage verbatim."""
    if record.get("error") or record["scores"].get("verbatim_problems"):
        return False
    if not record["answerable"]:
        return bool(record["abstained"])
    return record["scores"].get("containment", 0.0) == 1.0


# --- aggregation --------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in [0, 100]), like numpy's default."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _mean(values: Iterable[float]) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


METRICS: tuple[str, ...] = (
    "containment", "em", "f1", "recall@1", "recall@5", "mrr", "ndcg@10", "letter_acc", "span_iou",
    "verbatim", "abstention_precision", "abstention_recall", "false_abstention", "abstention_accuracy",
    "answer_words", "p50_ms", "p95_ms",
)
# higher is better for all but these (used by --fail-under: value must be <= the limit)
LOWER_IS_BETTER = frozenset({"false_abstention", "answer_words", "p50_ms", "p95_ms", "errors"})


def aggregate(records: Sequence[Mapping[str, Any]], by_category: bool = True) -> dict:
    """All metrics over per-question records (from score_response), plus a breakdown by category
    and by split."""
    records = list(records)
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    answered = [r for r in answerable if r["answer"] is not None]
    abstained = [r for r in records if r["abstained"]]
    checked = sum(r["scores"]["verbatim_checked"] for r in records)
    bad = sum(len(r["scores"]["verbatim_problems"]) for r in records)
    true_abstentions = sum(1 for r in unanswerable if r["abstained"])
    latencies = [r["latency_ms"] for r in records if r.get("latency_ms") is not None]

    def over(rows, key):
        return _mean(r["scores"].get(key, 0.0) for r in rows)

    out = {
        "n": len(records),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "n_answered": sum(1 for r in records if r["answer"] is not None),
        "containment": over(answerable, "containment"),
        "em": over(answerable, "em"),
        "f1": over(answerable, "f1"),
        "recall@1": over(answerable, "recall@1"),
        "recall@5": over(answerable, "recall@5"),
        "mrr": over(answerable, "rr"),
        "ndcg@10": over(answerable, "ndcg@10"),
        "letter_acc": _mean(r["scores"].get("letter_ok") for r in answered),
        "span_iou": _mean(r["scores"].get("span_iou") for r in answered),
        "verbatim": (checked - bad) / checked if checked else 1.0,
        "abstention_precision": _ratio(true_abstentions, len(abstained)),
        "abstention_recall": _ratio(true_abstentions, len(unanswerable)),
        "false_abstention": _ratio(sum(1 for r in answerable if r["abstained"]), len(answerable)),
        "abstention_accuracy": _ratio(sum(1 for r in records if r["abstained"] != r["answerable"]
                                          and not r.get("error")), len(records)),
        "answer_words": _mean(r["scores"]["answer_words"] for r in records if r["answer"] is not None),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "errors": sum(1 for r in records if r.get("error")),
        "correct": _ratio(sum(1 for r in records if r.get("correct")), len(records)),
    }
    if by_category:
        out["by_category"] = {c: category_summary([r for r in records if r["category"] == c])
                              for c in sorted({r["category"] for r in records})}
        out["by_split"] = {s: aggregate([r for r in records if r["split"] == s], by_category=False)
                           for s in sorted({r["split"] for r in records if r.get("split")})}
    return out


def category_summary(records: Sequence[Mapping[str, Any]]) -> dict:
    """The compact figures shown per category: for answerable categories answer and retrieval
    quality, for 'unanswerable' how often the system abstained."""
    answerable = [r for r in records if r["answerable"]]
    answered = [r for r in answerable if r["answer"] is not None]
    return {
        "n": len(records),
        "containment": _mean(r["scores"].get("containment", 0.0) for r in answerable),
        "f1": _mean(r["scores"].get("f1", 0.0) for r in answerable),
        "recall@5": _mean(r["scores"].get("recall@5", 0.0) for r in answerable),
        "letter_acc": _mean(r["scores"].get("letter_ok") for r in answered),
        "abstained": _ratio(sum(1 for r in records if r["abstained"]), len(records)),
        "correct": _ratio(sum(1 for r in records if r.get("correct")), len(records)),
    }
