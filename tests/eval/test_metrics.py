"""Benchmark metrics (eval/metrics.py) on small hand-made examples: no model, no index."""

from __future__ import annotations

import math

import pytest

from eval.metrics import (aggregate, auroc, containment, ece, exact_match, is_relevant, metadata_match, ndcg_at,
                          normalise, percentile, recall_at, reciprocal_rank, relevances, reliability, score_response,
                          span_iou, tight_correct, token_f1, verbatim_failures)

LETTER = "Dear Home Secretary,\nThe grant is up to £6k. It started on 4<sup>th</sup> May 2020.\n"


def test_normalise_strips_markup_punctuation_and_case():
    assert normalise("4<sup>th</sup> May 2020") == "4th may 2020"
    assert normalise("**Counter Terrorism and Security Act 2015**") == "counter terrorism and security act 2015"
    assert normalise("  Burns-Williamson,\n  PCC.  ") == "burns williamson pcc"
    assert normalise("up to £6k.") == "up to £6k"
    assert normalise(None) == ""


def test_exact_match_after_normalisation():
    assert exact_match("4th May 2020", ["4<sup>th</sup> May 2020"]) == 1.0
    assert exact_match("on 4th May 2020", ["4<sup>th</sup> May 2020"]) == 0.0
    assert exact_match("May 2020", ["4<sup>th</sup> May 2020", "May 2020"]) == 1.0
    assert exact_match(None, ["May 2020"]) == 0.0
    assert exact_match("", [""]) == 0.0


def test_token_f1_is_best_over_answers():
    # "grants up to £6k" vs "up to £6k": precision 3/4, recall 1
    assert token_f1("grants up to £6k", ["up to £6k"]) == pytest.approx(2 * 0.75 / 1.75)
    assert token_f1("grants up to £6k", ["nothing here", "up to £6k"]) == pytest.approx(2 * 0.75 / 1.75)
    assert token_f1("4th May 2020", ["4<sup>th</sup> May 2020"]) == 1.0
    assert token_f1("cats", ["dogs"]) == 0.0
    assert token_f1(None, ["dogs"]) == 0.0


def test_containment_uses_whole_words_of_the_normalised_text():
    assert containment("It started on 4<sup>th</sup> May, 2020.", ["4th May 2020"]) == 1.0
    assert containment("The Act is the **Counter Terrorism and Security Act 2015**.",
                       ["Counter Terrorism and Security Act 2015"]) == 1.0
    assert containment("in May 20201", ["May 2020"]) == 0.0  # not a word boundary
    assert containment("grants", ["grant"]) == 0.0
    assert containment(None, ["May 2020"]) == 0.0
    assert containment("anything", []) == 0.0


def test_relevance_contains_or_half_overlaps_the_gold_span():
    gold = ("a.txt", 100, 200)
    assert is_relevant(("a.txt", 90, 210), gold)  # contains
    assert is_relevant(("a.txt", 100, 200), gold)  # equal
    assert is_relevant(("a.txt", 150, 400), gold)  # half of the gold span
    assert not is_relevant(("a.txt", 0, 120), gold)  # a fifth
    assert not is_relevant(("b.txt", 0, 1000), gold)  # other letter
    assert not is_relevant(("a.txt", 200, 300), gold)  # touching only


def test_ranking_metrics_on_a_made_up_ranking():
    gold = ("a.txt", 100, 200)
    ranking = [("b.txt", 0, 1000), ("a.txt", 0, 120), ("a.txt", 150, 400), ("a.txt", 90, 210)]
    rel = relevances(ranking, gold)
    assert rel == [False, False, True, True]
    assert recall_at(rel, 1) == 0.0
    assert recall_at(rel, 2) == 0.0
    assert recall_at(rel, 5) == 1.0
    assert reciprocal_rank(rel) == pytest.approx(1 / 3)
    dcg = 1 / math.log2(4) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at(rel, 10) == pytest.approx(dcg / ideal)
    assert ndcg_at(rel, 2) == 0.0
    assert ndcg_at([True, False], 10) == 1.0
    assert reciprocal_rank([False, False]) == 0.0 and ndcg_at([], 10) == 0.0


def test_span_iou():
    assert span_iou(("a", 0, 10), ("a", 5, 15)) == pytest.approx(5 / 15)
    assert span_iou(("a", 0, 10), ("a", 0, 10)) == 1.0
    assert span_iou(("a", 0, 10), ("b", 0, 10)) == 0.0
    assert span_iou(("a", 0, 10), ("a", 20, 30)) == 0.0


def response(start: int, end: int, answer_start: int | None = None, answer_end: int | None = None,
             source: str = "l.txt") -> dict:
    quote = LETTER[LETTER.index("The grant"):LETTER.index("£6k.") + 4]
    a0 = LETTER.index("£6k") if answer_start is None else answer_start
    a1 = a0 + 3 if answer_end is None else answer_end
    return {"answer": "£6k", "abstained": False, "confidence": 0.8,
            "citations": [{"source": source, "char_start": start, "char_end": end, "quote": quote,
                           "answer_start": a0, "answer_end": a1}],
            "passages": [{"source": source, "char_start": 0, "char_end": len(LETTER), "text": LETTER}]}


def test_verbatim_check_catches_a_wrong_offset():
    start = LETTER.index("The grant")
    end = LETTER.index("£6k.") + 4
    texts = {"l.txt": LETTER}.__getitem__
    checked, problems = verbatim_failures(response(start, end), texts)
    assert checked == 4 and problems == []
    checked, problems = verbatim_failures(response(start + 1, end + 1), texts)
    assert len(problems) == 1 and "citation 0" in problems[0]
    _, problems = verbatim_failures(response(start, end, answer_start=LETTER.index("£6k") - 1), texts)
    assert problems and "answer span" in problems[0]
    _, problems = verbatim_failures(response(start, end, source="missing.txt"), texts)
    assert len(problems) == 2  # citation and passage: no canonical text


QUESTION = {"id": "q1", "question": "How big is the grant?", "category": "amount", "split": "dev",
            "answerable": True, "answers": ["£6k"], "source": "l.txt",
            "char_start": LETTER.index("The grant"), "char_end": LETTER.index("£6k.") + 4}
UNANSWERABLE = {"id": "q2", "question": "Who won the cup?", "category": "organisation", "split": "test",
                "answerable": False, "answers": [], "source": None, "char_start": None, "char_end": None}
ABSTAIN = {"answer": None, "abstained": True, "confidence": 0.1, "citations": [],
           "passages": [{"source": "l.txt", "char_start": 0, "char_end": 20, "text": LETTER[:20]}]}


def test_score_response_for_a_right_answer():
    texts = {"l.txt": LETTER}.__getitem__
    record = score_response(QUESTION, response(QUESTION["char_start"], QUESTION["char_end"]), texts, 12.0)
    s = record["scores"]
    assert s["em"] == s["containment"] == s["f1"] == 1.0
    assert s["recall@1"] == 1.0 and s["rr"] == 1.0 and s["letter_ok"] == 1.0 and s["span_iou"] == 1.0
    assert record["correct"] is True
    wrong = score_response(QUESTION, {**ABSTAIN, "abstained": False, "answer": "Dear"}, texts)
    assert wrong["correct"] is False and wrong["scores"]["containment"] == 0.0


def test_abstention_precision_recall_and_false_abstentions():
    texts = {"l.txt": LETTER}.__getitem__
    q_ok = dict(QUESTION)
    right = response(QUESTION["char_start"], QUESTION["char_end"])
    records = [
        score_response({**q_ok, "id": "a1"}, right, texts, 10.0),           # answered, right
        score_response({**q_ok, "id": "a2"}, ABSTAIN, texts, 20.0),         # false abstention
        score_response({**q_ok, "id": "a3"}, right, texts, 30.0),
        score_response({**q_ok, "id": "a4"}, right, texts, 40.0),
        score_response({**UNANSWERABLE, "id": "u1"}, ABSTAIN, texts, 50.0),  # right abstention
        score_response({**UNANSWERABLE, "id": "u2"}, right, texts, 60.0),    # answered unanswerable
        score_response({**UNANSWERABLE, "id": "u3"}, ABSTAIN, texts, 70.0),
    ]
    m = aggregate(records)
    assert m["abstention_precision"] == pytest.approx(2 / 3)  # 3 abstentions, 2 on unanswerable
    assert m["abstention_recall"] == pytest.approx(2 / 3)     # 3 unanswerable, 2 abstained on
    assert m["false_abstention"] == pytest.approx(1 / 4)
    assert m["abstention_accuracy"] == pytest.approx(5 / 7)
    assert m["containment"] == pytest.approx(3 / 4)          # the abstention scores 0
    assert m["letter_accuracy"] == 1.0                       # over the 3 answered
    assert m["verbatim"] == 1.0
    assert m["p50_ms"] == 40.0 and m["p95_ms"] == pytest.approx(67.0)
    assert m["abstention_f1"] == pytest.approx(2 / 3)
    assert m["by_category"]["organisation"]["abstention_recall"] == pytest.approx(2 / 3)
    assert m["by_category"]["amount"]["n"] == 4
    assert set(m["by_split"]) == {"dev", "test"}


def test_aggregate_counts_verbatim_failures():
    texts = {"l.txt": LETTER}.__getitem__
    good = response(QUESTION["char_start"], QUESTION["char_end"])
    bad = response(QUESTION["char_start"] + 1, QUESTION["char_end"] + 1)
    m = aggregate([score_response(QUESTION, good, texts), score_response(QUESTION, bad, texts)])
    assert m["verbatim"] == pytest.approx(7 / 8)


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 95) == 5
    assert percentile([], 50) is None
    assert percentile(list(range(101)), 95) == 95


def test_normalisation_drops_articles_as_squad_does():
    assert normalise("The Safer Communities Fund") == "safer communities fund"
    assert exact_match("the SCF", ["SCF"]) == 1.0
    assert normalise("Theatre and an anthem") == "theatre and anthem"  # whole words only


def test_tight_correct_wants_the_gold_in_a_short_answer():
    assert tight_correct("up to £6k", ["£6k"]) == 1.0
    # a one-word gold allows max(2 x 1 + 4, 12) = 12 words
    twelve = "The grant offered by the fund to every small group is £6k"
    assert len(twelve.split()) == 12 and tight_correct(twelve, ["£6k"]) == 1.0
    assert tight_correct(twelve + " today", ["£6k"]) == 0.0  # 13 words: contained, not tight
    assert containment(twelve + " today", ["£6k"]) == 1.0
    long_gold = " ".join(f"w{i}" for i in range(10))  # 10 words: up to 24
    assert tight_correct("x " * 14 + long_gold, [long_gold]) == 1.0
    assert tight_correct("x " * 15 + long_gold, [long_gold]) == 0.0
    # the limit is per gold: the short variant does not lend its length to the long one
    assert tight_correct("a b c d e f g h i j k l m n £6k", ["£6k", "nothing like it at all here"]) == 0.0
    assert tight_correct(None, ["£6k"]) == 0.0 and tight_correct("£6k", []) == 0.0


def test_auroc_counts_ties_as_half_and_needs_both_classes():
    assert auroc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0
    assert auroc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert auroc([0.5, 0.5, 0.5], [True, False, False]) == 0.5
    assert auroc([0.9, 0.4, 0.6, 0.1], [True, True, False, False]) == 0.75
    assert auroc([0.3, 0.4], [True, True]) is None


def test_ece_and_the_reliability_bins():
    assert ece([1.0, 1.0, 0.0, 0.0], [True, True, False, False]) == 0.0
    assert ece([0.9, 0.9], [False, False]) == pytest.approx(0.9)
    # bin 0.7-0.8: mean confidence 0.75, accuracy 0.5 -> 0.25, weight 2/4; bin 0.1-0.2: 0.15 vs 0 -> weight 2/4
    assert ece([0.7, 0.8 - 1e-9, 0.1, 0.2 - 1e-9], [True, False, False, False]) == pytest.approx(0.2)
    bins = reliability([0.05, 1.0], [False, True])
    assert len(bins) == 10 and bins[0]["n"] == 1 and bins[9]["n"] == 1 and bins[9]["accuracy"] == 1.0
    assert ece([], []) is None


def test_confidently_wrong_and_auroc_in_the_aggregate():
    texts = {"l.txt": LETTER}.__getitem__
    right = response(QUESTION["char_start"], QUESTION["char_end"])

    def said(conf, answer=None):
        return {**right, "confidence": conf, **({"answer": answer} if answer else {})}
    records = [
        score_response({**QUESTION, "id": "a"}, said(0.95), texts),               # right, sure
        score_response({**QUESTION, "id": "b"}, said(0.9, "Dear"), texts),        # wrong, sure
        score_response({**UNANSWERABLE, "id": "c"}, said(0.85), texts),           # answered unanswerable, sure
        score_response({**QUESTION, "id": "d"}, said(0.5, "Dear"), texts),        # wrong, unsure
        score_response({**UNANSWERABLE, "id": "e"}, {**ABSTAIN, "confidence": 0.3}, texts),
    ]
    m = aggregate(records)
    assert m["confidently_wrong"] == pytest.approx(2 / 4)  # 4 answers given, 2 wrong with >= 0.8
    assert m["tight_correct"] == pytest.approx(1 / 3)
    assert m["auroc"] == 1.0  # the one right answer has the highest confidence
    assert m["ece"] is not None and m["reliability"][9]["n"] == 2


def test_metadata_match_is_normalised_and_strict_about_nulls():
    assert metadata_match("sender", "Amara Okafor", ["Cllr Dr Amara Okafor OBE"]) == 1.0
    assert metadata_match("sender", "Cllr Dr Amara Okafor OBE", ["Amara Okafor"]) == 1.0
    assert metadata_match("sender", "Okafor", ["Cllr Dr Amara Okafor OBE"]) == 0.0
    assert metadata_match("role", "police and crime commissioner for northshire.",
                          ["Police and Crime Commissioner for Northshire"]) == 1.0
    assert metadata_match("subject", "Re: PEEL inspection", ["PEEL inspection"]) == 1.0
    assert metadata_match("reference", None, None) == 1.0
    assert metadata_match("reference", "NPCC/22/114", None) == 0.0
    assert metadata_match("reference", None, ["NPCC/22/114"]) == 0.0
    assert metadata_match("reference", "NPCC 22 114", ["NPCC/22/114"]) == 1.0
    assert metadata_match("date", "2021-10-12", "2021-10-12") == 1.0
    assert metadata_match("date", "2021-12-10", "2021-10-12") == 0.0
