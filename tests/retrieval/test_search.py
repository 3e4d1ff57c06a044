"""Search: fusion is a pure function; filters and letter names steer which letters are searched."""
from __future__ import annotations

import pytest

from index.records import LetterMetadata
from index.store import DocumentRecord
from retrieval.names import named_documents
from retrieval.search import Filters, allowed_documents, reciprocal_rank_fusion, score_fusion


def doc(ordinal, source, **meta):
    return DocumentRecord(ordinal, f"id{ordinal}", source, "txt", "0" * 64, LetterMetadata(**meta), (), (), 100)


LETTERS = [
    doc(0, "gm.txt", sender="Baroness Beverley Hughes", date="2020-05-04",
        role="Deputy Mayor of Greater Manchester Policing, Crime and Criminal Justice",
        organisation="Greater Manchester Combined Authority"),
    doc(1, "wy.txt", sender="Mark Burns-Williamson", date="2020-06-19",
        role="Police and Crime Commissioner for West Yorkshire",
        organisation="Office of the Police & Crime Commissioner West Yorkshire"),
    doc(2, "nd.txt", sender="Anne Smith", date="2021-01-10", role="Police and Crime Commissioner for Northdale"),
]


def test_rrf_rewards_agreement_between_rankings():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)
    assert max(fused, key=fused.get) == 1
    assert fused[3] > fused[2] and fused[4] < fused[2] + 1e-9
    with pytest.raises(ValueError, match="k must be > 0"):
        reciprocal_rank_fusion([[1]], k=0)


def test_score_fusion_normalises_each_arm():
    fused = score_fusion([{1: 10.0, 2: 0.0}, {2: 0.9, 3: 0.1}], [0.5, 0.5])
    assert fused[1] == pytest.approx(0.5) and fused[2] == pytest.approx(0.5) and fused[3] == pytest.approx(0.0)
    with pytest.raises(ValueError):
        score_fusion([{1: 1.0}], [1.0, 2.0])


def test_filters_by_source_sender_organisation_and_dates():
    def admitted(f):
        return [d.source for d in LETTERS if f.admits(d)]

    assert admitted(Filters(sources=("wy.txt",))) == ["wy.txt"]
    assert admitted(Filters(sender="hughes")) == ["gm.txt"]
    assert admitted(Filters(organisation="west yorkshire")) == ["wy.txt"]
    assert admitted(Filters(date_from="2020-06-01")) == ["wy.txt", "nd.txt"]
    assert admitted(Filters(date_from="2020-01-01", date_to="2020-05-31")) == ["gm.txt"]
    assert allowed_documents(LETTERS, Filters()) is None
    with pytest.raises(ValueError, match="ISO date"):
        Filters(date_from="19/06/2020")


def test_names_in_a_question_pick_the_letter_from_its_metadata():
    assert set(named_documents("What did West Yorkshire say about training?", LETTERS)) == {1}
    assert set(named_documents("What does the Deputy Mayor say about hate crime?", LETTERS)) == {0}
    assert set(named_documents("Did Burns-Williamson mention Channel?", LETTERS)) == {1}
    assert set(named_documents("What did Greater Manchester do?", LETTERS)) == {0}


def test_generic_words_shared_by_letters_do_not_pick_a_letter():
    assert named_documents("What did the police commissioner say about training?", LETTERS) == {}
    assert named_documents("what about crime?", LETTERS) == {}


def test_a_single_word_names_letters_only_when_it_is_rare_in_the_letters():
    from retrieval.names import NameIndex
    from retrieval.vocabulary import Vocabulary

    # "Northdale" is in one letter's text of three; "Commissioner" in all of them
    texts = ["The Commissioner for Northdale writes.", "The Commissioner replies.", "A Commissioner's note."]
    names = NameIndex(LETTERS, Vocabulary.of(texts).is_rare)
    assert names.weights("What did Northdale say?") == {2: pytest.approx(2 / 3)}
    assert names.weights("What did the Commissioner say?") == {}
    # without a corpus vocabulary, the names' own vocabulary decides: "Police" is in most letters' names
    assert named_documents("What did the Police say?", LETTERS) == {}
    assert set(named_documents("What did Northdale say?", LETTERS)) == {2}
