"""Benchmark metrics over contract answer objects (CONTRACT.md) and gold questions (eval/README.md).

Answers (over answerable questions; an abstention scores 0, SQuAD 2.0 style)
  em            SQuAD exact match after normalisation (lower case, punctuation and the articles
                a/an/the dropped, white space collapsed; HTML tags such as <sup> and markdown * _
                removed; currency signs and % kept, so "£6k" is not "6k").
  f1            SQuAD token F1, best over the gold answers.
  tight_correct a gold answer occurs (as whole normalised words) in the answer AND the answer has at
                most max(2 x that gold's words + 4, 12) words: short, right spans.
  containment   a gold answer occurs in the answer, at any length (the lenient figure).

Retrieval (over answerable questions, on the returned passages): recall@1, recall@5, mrr, ndcg@10 —
a passage is relevant when it is from the gold letter and contains or half-covers the gold span.

Citations
  letter_accuracy  citations[0] is from the gold letter (answerable questions answered).
  span_iou         character IoU of citations[0] with the gold span.
  verbatim         every citation/passage equals canonical[char_start:char_end]; the answer is a
                   substring of citations[0].quote.

Abstention (positive: abstaining on an unanswerable question)
  abstention_precision / abstention_recall / abstention_f1; false_abstention: abstentions among
  answerable questions.

Confidence ("correct" = answerable and a tight-correct answer given; over all questions)
  auroc              probability that a correct question has a higher confidence than an incorrect one
                     (ties count half).
  ece                expected calibration error over 10 equal-width confidence bins.
  confidently_wrong  answers given with confidence >= 0.8 that are not correct, as a share of the
                     answers given (an answer to an unanswerable question is wrong).

Metadata (per letter, the index's extracted metadata vs the catalogue's gold): per field, normalised
equality with one of the gold strings (honorifics and post-nominals not required); a null gold is
matched only by null; dates compare as ISO strings.

Per-question records are dicts made by ``score_response``; ``aggregate`` averages them.
"""
from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from typing import Any, Callable, Iterable, Mapping, Sequence

Span = tuple[str, int, int]  # (source, char_start, char_end)

_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
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
    text = "".join(" " if (ch in _PUNCT or unicodedata.category(ch).startswith("P")) and ch not in _KEEP else ch
                   for ch in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


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


def tight_correct(prediction: str | None, answers: Sequence[str]) -> float:
    """A gold answer is contained and the answer is at most max(2 x gold words + 4, 12) words long
    (words as written: white-space separated, like the contract's 60-word cap)."""
    pred = normalise(prediction)
    if not pred:
        return 0.0
    padded, length = f" {pred} ", len(prediction.split())
    for answer in answers:
        gold = normalise(answer)
        if gold and f" {gold} " in padded and length <= max(2 * len(answer.split()) + 4, 12):
            return 1.0
    return 0.0


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


# --- confidence ---------------------------------------------------------------------------------
CONFIDENT = 0.8  # "High" confidence: what the issue calls confidently wrong starts here
ECE_BINS = 10


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve of `scores` for `labels` (Mann-Whitney; ties count half). None when
    only one class is present."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return None
    ranked = sorted((s, i) for i, s in enumerate(scores))
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k][1]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, labels) if y)
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def reliability(confidences: Sequence[float], labels: Sequence[bool], bins: int = ECE_BINS) -> list[dict]:
    """Per equal-width bin of confidence: n, mean confidence, share correct (the reliability diagram)."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        rows = [(c, y) for c, y in zip(confidences, labels) if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        out.append({"lo": lo, "hi": hi, "n": len(rows),
                    "confidence": sum(c for c, _ in rows) / len(rows) if rows else None,
                    "accuracy": sum(1 for _, y in rows if y) / len(rows) if rows else None})
    return out


def ece(confidences: Sequence[float], labels: Sequence[bool], bins: int = ECE_BINS) -> float | None:
    """Expected calibration error: bin-size-weighted |accuracy - mean confidence| over equal-width bins."""
    if not confidences:
        return None
    total = len(confidences)
    return sum(b["n"] / total * abs(b["accuracy"] - b["confidence"])
               for b in reliability(confidences, labels, bins) if b["n"])


# --- metadata -----------------------------------------------------------------------------------
_HONORIFICS = frozenset("""mr mrs ms miss mx dr prof professor sir dame lord lady baroness baron cllr councillor
rt hon right honourable rev revd reverend pp judge hhj""".split())
_POST_NOMINALS = frozenset("""obe mbe cbe kbe dbe cb cvo lvo qpm kpm qfsm mp msp ma ba bsc msc mba llb llm phd dphil
jp dl qc kc frcp frcs frcn mrcp fca frics mrtpi ceng frsa mcipd fcipd rgn rmn""".split())
PERSON_FIELDS = frozenset({"sender", "recipient"})
_LABEL = re.compile(r"^\s*(?:re|subject|subj|ref|reference|our ref|my ref)\s*[:.-]\s*", re.I)


def normalise_field(field: str, value: str | None) -> str:
    """Case, punctuation and white space ignored; a leading "Re:" label dropped; for people, honorifics
    and post-nominals dropped."""
    if value is None:
        return ""
    words = normalise(_LABEL.sub("", value)).split()
    if field in PERSON_FIELDS:
        words = [w for w in words if w not in _HONORIFICS and w not in _POST_NOMINALS] or words
    return " ".join(words)


def metadata_match(field: str, extracted: str | None, gold) -> float:
    """1.0 when the extracted value matches the gold (None, an ISO date, or acceptable strings)."""
    if gold is None:
        return float(not extracted)
    if not extracted:
        return 0.0
    if field == "date":
        return float(extracted.strip() == gold)
    found = normalise_field(field, extracted)
    return float(any(found == normalise_field(field, g) for g in gold))


def metadata_scores(extracted: Mapping[str, Any], gold: Mapping[str, Any], fields: Sequence[str]) -> dict[str, float]:
    return {f: metadata_match(f, extracted.get(f), gold.get(f)) for f in fields}


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
        "letter": question.get("source"),
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
            "tight_correct": tight_correct(answer, answers),
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
    """The end-to-end verdict used for 'failures first': a tight-correct answer, or a right abstention,
    with every citation and passage verbatim."""
    if record.get("error") or record["scores"].get("verbatim_problems"):
        return False
    if not record["answerable"]:
        return bool(record["abstained"])
    return record["scores"].get("tight_correct", 0.0) == 1.0


def answered_correctly(record: Mapping[str, Any]) -> bool:
    """The label the confidence should predict: answerable and a tight-correct answer given."""
    return bool(record["answerable"] and record["answer"] is not None
                and record["scores"].get("tight_correct", 0.0) == 1.0 and not record.get("error"))


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
    "tight_correct", "em", "f1", "containment", "recall@1", "recall@5", "mrr", "ndcg@10", "letter_accuracy",
    "span_iou", "verbatim", "abstention_precision", "abstention_recall", "abstention_f1", "false_abstention",
    "auroc", "ece", "confidently_wrong", "answer_words", "p50_ms", "p95_ms",
)
# higher is better for all but these (used by --fail-under: value must be <= the limit)
LOWER_IS_BETTER = frozenset({"false_abstention", "answer_words", "p50_ms", "p95_ms", "errors", "ece",
                             "confidently_wrong"})
GROUPS: tuple[str, ...] = ("split", "category", "format", "layout")


def _f1_of(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return 2 * p * r / (p + r) if p + r else 0.0


def aggregate(records: Sequence[Mapping[str, Any]], groups: Sequence[str] = GROUPS) -> dict:
    """All metrics over per-question records (from score_response), plus the same figures by split,
    category, letter format and layout tag (a question counts under each tag of its letter)."""
    records = list(records)
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    answered = [r for r in answerable if r["answer"] is not None]
    given = [r for r in records if r["answer"] is not None]
    abstained = [r for r in records if r["abstained"]]
    checked = sum(r["scores"]["verbatim_checked"] for r in records)
    bad = sum(len(r["scores"]["verbatim_problems"]) for r in records)
    true_abstentions = sum(1 for r in unanswerable if r["abstained"])
    latencies = [r["latency_ms"] for r in records if r.get("latency_ms") is not None]
    confidences = [float(r.get("confidence") or 0.0) for r in records]
    labels = [answered_correctly(r) for r in records]

    def over(rows, key):
        return _mean(r["scores"].get(key, 0.0) for r in rows)

    precision = _ratio(true_abstentions, len(abstained))
    recall = _ratio(true_abstentions, len(unanswerable))
    out = {
        "n": len(records),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "n_answered": len(given),
        "letters": len({r.get("letter") for r in records} - {None}),
        "tight_correct": over(answerable, "tight_correct"),
        "em": over(answerable, "em"),
        "f1": over(answerable, "f1"),
        "containment": over(answerable, "containment"),
        "recall@1": over(answerable, "recall@1"),
        "recall@5": over(answerable, "recall@5"),
        "mrr": over(answerable, "rr"),
        "ndcg@10": over(answerable, "ndcg@10"),
        "letter_accuracy": _mean(r["scores"].get("letter_ok") for r in answered),
        "span_iou": _mean(r["scores"].get("span_iou") for r in answered),
        "verbatim": (checked - bad) / checked if checked else 1.0,
        "abstention_precision": precision,
        "abstention_recall": recall,
        "abstention_f1": _f1_of(precision, recall),
        "false_abstention": _ratio(sum(1 for r in answerable if r["abstained"]), len(answerable)),
        "abstention_accuracy": _ratio(sum(1 for r in records if r["abstained"] != r["answerable"]
                                          and not r.get("error")), len(records)),
        "auroc": auroc(confidences, labels),
        "ece": ece(confidences, labels),
        "confidently_wrong": _ratio(sum(1 for r in given if float(r.get("confidence") or 0.0) >= CONFIDENT
                                        and not answered_correctly(r)), len(given)),
        "answer_words": _mean(r["scores"]["answer_words"] for r in given),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "errors": sum(1 for r in records if r.get("error")),
        "correct": _ratio(sum(1 for r in records if r.get("correct")), len(records)),
    }
    if groups:
        out["reliability"] = reliability(confidences, labels)
    for group in groups:
        keys: dict[str, list] = {}
        for r in records:
            values = r.get(group)
            for value in (values if isinstance(values, (list, tuple)) else [values]):
                keys.setdefault(str(value if value is not None else "none"), []).append(r)
        out[f"by_{group}"] = {k: aggregate(rows, groups=()) for k, rows in sorted(keys.items())}
    return out
