"""The fitted answer path, stage by stage: candidates, features, the numpy tree evaluator, the model
file, and one confidence for every answer."""
from __future__ import annotations

import json

import numpy as np
import pytest

from index.entities import Entity
from retrieval.answer_model import MODEL_FILE, AnswerModel, AnswerModelError
from retrieval.candidates import MAX_ANSWER_WORDS, Candidate, Sentence, same_answer, sentence_candidates
from retrieval.confidence import CONFIDENCE_FEATURES, Linear
from retrieval.features import FEATURES, KINDS, QuestionView, features, focus_tokens, other_subject
from retrieval.trees import TreeEnsemble


def sentence(text: str, entities=(), key: int = 1, doc: int = 0) -> Sentence:
    return Sentence(key, doc, 100, 100 + len(text), text, 0.5, 1, 0.3, False, entities=tuple(entities),
                    letter_chars=1000)


# --- candidates -----------------------------------------------------------------------------------
def test_a_sentence_gives_its_entities_clause_windows_and_itself():
    text = "The fund, which opened in May 2021, offers grants of up to £25,000 to community groups."
    s = sentence(text, [Entity(26, 34, "date", "DATE"), Entity(59, 66, "money", "MONEY")])
    found = {(c.text, c.kind) for c in sentence_candidates(s)}
    assert ("May 2021", "date") in found and ("£25,000", "money") in found
    assert ("which opened in May 2021", "clause") in found
    assert (text.rstrip("."), "sentence") in found
    for c in sentence_candidates(s):
        assert c.text == text[c.start:c.end] and c.text == c.text.strip()


def test_a_long_sentence_is_clipped_to_the_longest_answer():
    text = " ".join(f"word{i}" for i in range(100)) + "."
    whole = [c for c in sentence_candidates(sentence(text)) if c.kind == "sentence"]
    assert len(whole[0].text.split()) == MAX_ANSWER_WORDS


def test_overlapping_spans_of_one_letter_are_the_same_answer():
    s = sentence("Peter Okafor signed the letter on 3 May.")
    a, b, c = Candidate(s, 0, 12, "person"), Candidate(s, 6, 12, "person"), Candidate(s, 34, 39, "date")
    assert same_answer(a, b) and not same_answer(a, c)


# --- features -------------------------------------------------------------------------------------
def view(question: str, naming: set[str] = frozenset()) -> QuestionView:
    from index.lexical import tokens

    q_tokens = tuple(tokens(question))
    return QuestionView(question, q_tokens, {t: 1.0 for t in q_tokens}, {}, 0, other_subject(question, set(naming)),
                        focus_tokens(question))


def test_features_are_one_finite_row_per_candidate_with_kind_and_label_ids():
    s = sentence("The panel appointed 14 custody officers in 2020.",
                 [Entity(20, 39, "number", "CARDINAL"), Entity(43, 47, "date", "DATE")])
    candidates = sentence_candidates(s)
    rows = features(view("How many custody officers were appointed?"), candidates, {})
    assert rows.shape == (len(candidates), len(FEATURES)) and np.isfinite(rows).all()
    by_text = {c.text: row for c, row in zip(candidates, rows)}
    number = by_text["14 custody officers"]
    assert KINDS[int(number[FEATURES.index("kind")])] == "number"
    assert number[FEATURES.index("focus_in_span")] == 1.0
    assert by_text["2020"][FEATURES.index("focus_in_span")] == 0.0
    # answers rarely repeat the question: the date is all new words, the number span half
    assert by_text["2020"][FEATURES.index("novelty")] == 1.0 > number[FEATURES.index("novelty")]


def test_questions_about_the_letter_itself_mark_its_fields():
    from dataclasses import replace

    from retrieval.features import letter_card, letter_card_match

    date_line = sentence("4 May 2020", key=-5, doc=0)
    body = sentence("The panel met in September 2017.", [Entity(17, 31, "date", "DATE")], doc=1)
    candidates = [Candidate(date_line, 0, 10, "field:date"), *sentence_candidates(body)]
    card = letter_card(("Beverley Hughes", "Deputy Mayor", "Greater Manchester Combined Authority", "Home Secretary", None))
    idf = {"greater": 2.0, "manchester": 2.0, "letter": 0.1, "date": 0.5}
    question = replace(view("What date is on the Greater Manchester letter?"),
                       letter_match={0: letter_card_match("What date is on the Greater Manchester letter?", card, idf), 1: 0.0})
    rows = features(question, candidates, {})
    field, entity = rows[0], rows[[c.text for c in candidates].index("September 2017")]
    assert field[FEATURES.index("field_named")] == 1.0 and entity[FEATURES.index("field_named")] == 0.0
    # the question names the date line's letter (its organisation), not the body's
    assert field[FEATURES.index("letter_match")] == pytest.approx(4.0 / 4.6)
    assert entity[FEATURES.index("letter_match_gap")] == pytest.approx(4.0 / 4.6)
    assert field[FEATURES.index("letter_act")] == 0.0
    written = features(view("When was the letter written?"), candidates, {})
    assert (written[:, FEATURES.index("letter_act")] == 1.0).all()


def test_a_question_about_someone_else_is_not_about_the_letter_itself():
    # "who wrote the HMICFRS report" asks about another document's author, not the letter's sender
    assert other_subject("Who wrote the HMICFRS inspection report?", set()) == 1.0
    assert other_subject("Who wrote the letter?", set()) == 0.0
    assert other_subject("Who wrote the Lowmoor letter?", {"lowmoor"}) == 0.0


# --- the tree evaluator ---------------------------------------------------------------------------
def test_the_numpy_trees_equal_lightgbm_predict():
    lightgbm = pytest.importorskip("lightgbm")  # requirements-dev.txt; the app itself never imports it
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6))
    X[:, 5] = rng.integers(0, 4, 600)  # an id-like column, split numerically
    y = ((X[:, 0] * X[:, 5] > 0.5) + (X[:, 1] > 1)).astype(int)
    model = lightgbm.LGBMRanker(objective="lambdarank", n_estimators=40, num_leaves=7, min_child_samples=5,
                                verbose=-1, random_state=0)
    model.fit(X, y, group=[30] * 20)
    trees = TreeEnsemble.from_lightgbm(model.booster_.dump_model())
    test = rng.normal(size=(200, 6))
    test[:, 5] = rng.integers(0, 4, 200)
    np.testing.assert_allclose(trees.predict(test), model.predict(test), rtol=0, atol=1e-9)
    again = TreeEnsemble.from_json(json.loads(json.dumps(trees.to_json())))
    np.testing.assert_array_equal(again.predict(test), trees.predict(test))


def test_the_numpy_trees_send_missing_values_where_lightgbm_does():
    # column 0 had NaNs in training (its nodes treat NaN as missing); column 1 had none (a NaN counts as 0)
    lightgbm = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 3))
    y = ((X[:, 0] > 0.3) + (X[:, 1] < -0.2) + (X[:, 2] > 1)).astype(int)
    X[rng.random(600) < 0.2, 0] = np.nan
    model = lightgbm.LGBMRanker(objective="lambdarank", n_estimators=30, num_leaves=9, min_child_samples=5,
                                verbose=-1, random_state=0)
    model.fit(X, y, group=[30] * 20)
    trees = TreeEnsemble.from_lightgbm(model.booster_.dump_model())
    assert trees.nan_is_missing.any() and not trees.nan_is_missing.all()
    test = rng.normal(size=(300, 3))
    test[rng.random(300) < 0.3, 0] = np.nan
    test[rng.random(300) < 0.3, 1] = np.nan
    np.testing.assert_allclose(trees.predict(test), model.predict(test), rtol=0, atol=1e-9)


def test_the_numpy_trees_score_a_row_alone_as_in_a_batch():
    model = AnswerModel.load()
    rows = np.random.default_rng(2).normal(size=(50, model.ranker.n_features))
    batch = model.ranker.predict(rows)
    assert [model.ranker.predict(rows[i:i + 1])[0] for i in range(len(rows))] == batch.tolist()


def test_tree_arrays_that_do_not_form_trees_are_refused():
    cycle = {"n_features": 1, "roots": [0], "feature": [0, -1], "threshold": [0.5, 0.0], "left": [0, 1],
             "right": [1, 1], "nan_left": [1, 0], "nan_is_missing": [0, 0], "value": [0.0, 1.0]}
    with pytest.raises(ValueError, match="trees"):
        TreeEnsemble.from_json(cycle)


# --- the model file ---------------------------------------------------------------------------------
def test_the_shipped_model_loads_with_its_provenance():
    model = AnswerModel.load()
    assert model.provenance["fitted_on"] == "train letters" and model.provenance["test"] == "never read"
    assert {"train_out_of_fold", "dev", "git_commit", "date"} <= set(model.provenance)
    assert 0 < model.threshold < 1


@pytest.mark.parametrize("damage, reason", [
    (None, "cannot read"),
    ("{not json", "cannot read"),
    ('{"version": 1}', "not usable"),
])
def test_a_missing_or_damaged_model_file_is_one_line_that_says_how_to_fix_it(tmp_path, damage, reason):
    path = tmp_path / "answer_model.json"
    if damage is not None:
        path.write_text(damage, encoding="utf-8")
    with pytest.raises(AnswerModelError) as caught:
        AnswerModel.load(path)
    message = str(caught.value)
    assert reason in message and "python -m eval fit --write" in message and "\n" not in message


def test_a_model_fitted_for_other_features_is_refused(tmp_path):
    obj = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    obj["features"] = obj["features"][:-1]
    path = tmp_path / "answer_model.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(AnswerModelError, match="other features"):
        AnswerModel.load(path)


# --- one confidence ---------------------------------------------------------------------------------
def test_confidence_rises_with_the_rankers_margin_and_score():
    model = AnswerModel.load()
    base = {name: 0.0 for name in CONFIDENCE_FEATURES} | {"top_score": 0.0, "margin": 0.5, "sentence_similarity": 0.5,
                                                         "letter_coverage": 1.0}
    for name in ("margin", "top_score"):
        values = [model.confidence(base | {name: v}) for v in np.linspace(-2, 4, 13)]
        assert all(b >= a for a, b in zip(values, values[1:])), name
        assert values[-1] > values[0]


def test_a_logistic_confidence_is_monotone_in_each_weighted_signal():
    linear = Linear(np.zeros(2), np.ones(2), np.array([1.5, -0.5]), 0.0)
    assert linear.probability([1, 0]) > linear.probability([0, 0]) > linear.probability([0, 1])
    assert 0 < linear.probability([-10, 10]) < linear.probability([10, -10]) < 1


def test_every_answer_kind_gets_its_confidence_from_the_model(town_assistant):
    for question in ("Who signed the Lowmoor letter?", "How much money can community projects get from the custody fund?"):
        answer = town_assistant.ask(question)
        assert answer.signals is not None and set(CONFIDENCE_FEATURES) <= set(answer.signals)
        assert answer.confidence == pytest.approx(town_assistant.model.confidence(answer.signals))
        assert answer.confidence != 0.9
