"""The letters an assistant keeps read (retrieval/letters.py): the same facts the index holds, a bounded
number of them, and answers that do not depend on how many are kept."""
from __future__ import annotations

import pytest

from index.settings import Settings
from index.structure import read_structure
from retrieval import Assistant
from retrieval.candidates import Sentence, sentence_candidates
from retrieval.letters import LetterCache, read_letter

QUESTIONS = ("Who signed the Riverton letter?", "How many custody officers completed mental health training?",
             "When was the Lowmoor letter written?", "Where does the Road Safety Partnership meet?")


def test_a_letter_is_read_as_the_index_holds_it(town_assistant):
    reader = town_assistant.reader
    for doc in reader.documents:
        letter = read_letter(reader, doc.ordinal)
        assert letter.text == reader.text(doc.doc_id)
        assert list(letter.entities) == sorted(reader.entities(doc.ordinal), key=lambda e: (e.start, e.end))
        assert list(letter.sentences) == reader.document_sentences(doc.ordinal)
        assert letter.structure == read_structure(letter.text, list(letter.entities))
        rows = [s.row for s in letter.sentences]
        inside = letter.sentences_between(rows[1], rows[3])
        assert [s.row for s in inside] == rows[1:4]
        assert [s.row for s in letter.sentences_between(rows[0] - 5, rows[0])] == rows[:1]
        second = letter.sentences[1]
        assert letter.sentence_holding(second.start + 1, second.end) == second
        assert letter.sentence_holding(-1, 0) is None
        parts = letter.parts(second)
        first, third = letter.sentences[0], letter.sentences[2]
        assert (parts.text, parts.previous, parts.following) == \
               tuple(letter.text[s.start:s.end] for s in (second, first, third))
        assert letter.parts(first).previous == "" and letter.parts(letter.sentences[-1]).following == ""
        assert letter.parts(second) is parts  # found once
        sentence = Sentence(second.row, doc.ordinal, second.start, second.end, parts.text, 0.5, 1, 0.3, False,
                            entities=parts.entities)
        assert [(c.start, c.end, c.kind, c.label) for c in sentence_candidates(sentence)] == list(parts.spans)


def test_the_cache_keeps_only_the_most_recently_used_letters(town_assistant):
    reads = []

    def counting(reader, ordinal):
        reads.append(ordinal)
        return read_letter(reader, ordinal)

    cache = LetterCache(town_assistant.reader, size=1, read=counting)
    assert cache[0] is cache[0]
    cache[1]
    cache[0]  # evicted by letter 1: read again
    assert reads == [0, 1, 0]
    wider = LetterCache(town_assistant.reader, size=2, read=counting)
    reads.clear()
    wider[0], wider[1], wider[0], wider[1]
    assert reads == [0, 1]


def test_answers_do_not_depend_on_how_many_letters_are_kept(town_settings, town_assistant):
    small = Assistant.load(settings=town_settings.replace(letter_cache_size=1))
    for question in QUESTIONS * 2:
        expected, got = town_assistant.ask(question), small.ask(question)
        assert (got.answer, got.abstained, got.citations, got.passages) == \
               (expected.answer, expected.abstained, expected.citations, expected.passages)
        assert got.confidence == pytest.approx(expected.confidence, abs=1e-12)
    assert small.letters.info().currsize == 1


def test_the_cache_sizes_come_from_the_settings():
    settings = Settings.from_env({"LETTERS_QA_LETTER_CACHE": "12"})
    assert settings.letter_cache_size == 12
    with pytest.raises(ValueError, match="letter_cache_size"):
        Settings(letter_cache_size=0)
