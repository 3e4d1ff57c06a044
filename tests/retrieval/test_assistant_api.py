"""What the app and other callers get from Assistant without reaching into the index reader."""
from __future__ import annotations

from pathlib import Path

from retrieval.vocabulary import Vocabulary

SHIPPED = Path(__file__).resolve().parents[2] / "corpus"
WY = "west-yorkshire-pcc-2020-06-19-prevent-response.txt"


def test_text_is_the_canonical_text_of_a_letter(assistant):
    assert assistant.text(WY) == (SHIPPED / WY).read_text(encoding="utf-8-sig")
    assert assistant.document(WY).source == WY and assistant.document("nope.txt") is None


def test_vocabulary_counts_the_letters_using_each_word(assistant):
    vocabulary = assistant.vocabulary()
    assert vocabulary == Vocabulary.of(p.read_text(encoding="utf-8-sig") for p in sorted(SHIPPED.glob("*.txt")))
    assert vocabulary.letters == 2
    assert vocabulary.letters_using("Yorkshire") == 1 and vocabulary.letters_using("police") == 2
    assert vocabulary.letters_using("Zanzibar") == 0
    assert assistant.vocabulary() is vocabulary  # computed once per build



def test_the_warm_up_question_runs_every_stage_a_real_question_runs(assistant):
    from retrieval.assistant import WARM_UP_QUESTION

    considered = assistant.consider(WARM_UP_QUESTION)
    kinds = {c.kind for c in considered.candidates}
    assert considered.hits and considered.passages
    assert any(k.startswith("field:") for k in kinds)  # the letters' structure is read
    assert any(not k.startswith("field:") for k in kinds)  # and their sentences
    assert assistant.warm_up() is None  # the answer is dropped
