"""Abstention: the signals that tell "the letter states it" from "the letter is about it but does not
say it", the threshold rule, and how the two fitted models decide and give one confidence."""
from __future__ import annotations

import numpy as np
import pytest

from eval.fit import abstention_f1, choose_threshold
from index.entities import Entity
from retrieval.answer_model import AnswerModel
from retrieval.candidates import Sentence, sentence_candidates
from retrieval.confidence import ANSWERABILITY, CONFIDENCE_FEATURES, signals_of
from retrieval.features import FEATURES, KINDS, RANKED, QuestionView, features, letter_coverage, rarest
from index.lexical import tokens


def sentence(text: str, entities=(), key: int = 1, doc: int = 0) -> Sentence:
    return Sentence(key, doc, 100, 100 + len(text), text, 0.5, 1, 0.3, False, entities=tuple(entities),
                    letter_chars=1000)


def view(question: str, idf: dict[str, float], letters: dict[int, str]) -> QuestionView:
    return QuestionView(question, tuple(idf), idf, {}, 0, 0.0, letter_tokens={
        o: frozenset(tokens(text)) for o, text in letters.items()})


# --- signals ----------------------------------------------------------------------------------------
def test_the_rarest_question_words_are_the_highest_idf_ones():
    assert rarest({"budget": 3.0, "fund": 1.0, "custody": 2.0}) == ("budget", "custody")


def test_a_letter_that_never_uses_the_asked_word_covers_less_of_the_question():
    idf = {t: w for t, w in zip(tokens("managing director facilities"), (2.0, 2.5, 1.0))}
    covered, missing = letter_coverage(idf, frozenset(tokens("EPH Facilities staff were balloted")))
    assert covered == pytest.approx(1.0 / 5.5) and missing == pytest.approx(2.5)
    assert letter_coverage(idf, frozenset(tokens("the managing director of EPH Facilities"))) == (1.0, 0.0)


def test_the_sentence_holding_the_rare_word_covers_it_and_the_one_only_on_topic_does_not():
    idf = dict(zip(tokens("Who chairs the custody visiting scheme?"), (3.0, 1.0, 1.0, 1.5)))
    q = view("Who chairs the custody visiting scheme?", idf,
             {0: "The scheme is chaired by Jane Moss. Custody visiting resumed in May."})
    stating = sentence("The scheme is chaired by Jane Moss.", [Entity(25, 34, "person", "PERSON")], key=1)
    on_topic = sentence("Custody visiting resumed in May.", key=2)
    rows = features(q, [c for s in (stating, on_topic) for c in sentence_candidates(s)], {})
    rare = rows[:, FEATURES.index("rare_coverage")]
    assert rare[0] > rare[-1]  # "chairs" (rarest) is near Jane Moss, not in the on-topic sentence
    assert np.all(rows[:, FEATURES.index("letter_coverage")] == 1.0)


def test_the_ranker_does_not_read_the_answerability_features():
    assert RANKED == FEATURES[:len(RANKED)] and "letter_missing_idf" not in RANKED


def test_typed_signals_say_whether_any_candidate_is_of_the_asked_kind():
    rows = np.zeros((3, len(FEATURES)))
    rows[:, FEATURES.index("kind")] = [KINDS.index("sentence"), KINDS.index("clause"), KINDS.index("money")]
    kinds = np.full(len(KINDS), 0.01)
    kinds[KINDS.index("money")] = 0.9
    scores = np.array([2.0, 1.0, 0.5])
    found = signals_of(rows, scores, lambda i: i == 0, False, {"amount": 0.8, "date": 0.2}, 0.5, 0.0, kinds)
    assert found["typed_gap"] == pytest.approx(1.5) and found["type_agreement"] == pytest.approx(0.01)
    assert found["p:amount"] == 0.8 and found["category_probability"] == 0.8
    rows[2, FEATURES.index("kind")] = KINDS.index("date")
    assert signals_of(rows, scores, lambda i: i == 0, False, {"amount": 1.0}, 0.5, 0.0, kinds)["typed_gap"] == 5.0
    assert set(ANSWERABILITY) <= set(found) and set(CONFIDENCE_FEATURES) <= set(found)


# --- the threshold rule -----------------------------------------------------------------------------
def test_the_threshold_maximises_abstention_f1_within_the_false_abstention_cap():
    answerability = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    answerable = [False, False, True, False, True, True, True, True, True, True]
    correct = [False, False, True, False, True, False, True, True, True, True]
    t = choose_threshold(answerability, correct, answerable, max_false_abstention=0.2)
    assert 0.4 < t < 0.5  # refuses the three unanswerable ones and one answerable (1/7 <= 20%)
    assert 0.2 < choose_threshold(answerability, correct, answerable, max_false_abstention=0.0) < 0.3  # no answerable one refused
    assert abstention_f1(3, 4, 3) == pytest.approx(2 * 0.75 * 1 / 1.75)


# --- the decision ------------------------------------------------------------------------------------
def test_the_shipped_model_decides_on_answerability_and_shows_p_right(town_assistant):
    model = town_assistant.model
    assert model.provenance["confidence"]["threshold_on"] == "answerability"
    for question in ("Who signed the Lowmoor letter?", "What is the capital of Peru?",
                     "How many goals did Manchester United score last season?"):
        answer = town_assistant.ask(question)
        if answer.signals is None:  # refused before any model ran (no word of it in the letters)
            assert answer.abstained
            continue
        answerable = model.answerability(answer.signals)
        assert answer.abstained == (answerable < town_assistant.settings.abstain_threshold)
        assert answer.confidence == pytest.approx(model.confidence(answer.signals)) and answer.confidence <= answerable


def test_a_model_file_without_the_answerability_model_is_refused(tmp_path):
    import json

    from retrieval.answer_model import MODEL_FILE, AnswerModelError

    obj = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    obj["answerability"]["features"] = obj["answerability"]["features"][:-1]
    path = tmp_path / "answer_model.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(AnswerModelError, match="answerability"):
        AnswerModel.load(path)


def test_a_letter_sharing_no_word_with_the_question_cannot_answer_it_unless_by_its_own_parts():
    from retrieval.confidence import unsupported

    assert unsupported({"letter_coverage": 0.0, "is_field": 0.0})
    assert not unsupported({"letter_coverage": 0.0, "is_field": 1.0})  # "who signed it?"
    assert not unsupported({"letter_coverage": 0.3, "is_field": 0.0})


# --- fitting -----------------------------------------------------------------------------------------
def test_a_signal_with_a_logical_direction_keeps_its_sign_whatever_the_data_say():
    from eval.fit import fit_confidence

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = X[:, 0] + 0.3 * rng.normal(size=200) > 0  # the first column raises the chance
    free = fit_confidence(X, y, 1.0)
    assert free.weights[0] > 1.0
    held = fit_confidence(X, y, 1.0, signs=[-1, 0])  # ... but is declared never to raise it
    assert held.weights[0] <= 0.0 and free.probability([2, 0]) > held.probability([2, 0])
