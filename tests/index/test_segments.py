"""An index that grows by segments: adding or removing a letter writes one small segment or a tombstone
and never rewrites the others; search gives the same hits and scores however the letters are
segmented; small segments merge past Settings.max_segments, all of them on `index optimize`."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from index.building import build_index, optimize_index
from index.embedding import Embedder
from index.postings import BM25, ScoredSegment, concatenate, from_tokens
from index.segments import plan_merge
from index.settings import Settings
from index.store import IndexReader, read_manifest
from retrieval.search import Filters, HybridSearcher
from tests.conftest import TOWN_LETTERS, write_letters

MORE_LETTERS = {
    "harbourside.txt": """
        Dear Commissioner,

        The Harbourside Youth Fund paid for 12 weekend boxing clubs in Northgate during 2022.
        Attendance rose to 340 young people by December. Custody referrals of young people fell by a third.

        Yours sincerely

        Amira Patel
        Chair of the Harbourside Community Trust
        """,
    "eastfield.txt": """
        Dear Councillor,

        A new youth diversion scheme opened in Eastfield in May 2023 with grants of £8,000 from the fund.
        The scheme trains volunteers in mental health first aid and meets at Eastfield Library.

        Yours faithfully

        Sam Reid
        Director of Community Safety, Eastfield Borough Council
        """,
    "northgate.txt": """
        Dear Minister,

        Northgate Council will close two custody suites in 2024 and move roads policing to Lowmoor.
        The closure saves £1.2 million a year; the savings fund 20 community support officers.

        Yours sincerely

        Helen Marsh
        Leader of Northgate Council
        """,
}
LETTERS = {**TOWN_LETTERS, **MORE_LETTERS}
QUESTIONS = [
    "Who chairs the independent custody visiting scheme?",
    "How many weekend boxing clubs did the Harbourside Youth Fund pay for?",
    "What grants does the fund offer to community projects?",
    "When did the speed awareness pilot run?",
    "How much does closing the custody suites save?",
    "mental health training custody officers",
]


def hits(settings: Settings, embedder: Embedder, filters: Filters | None = None) -> list[list[tuple]]:
    """Per question: (source, chunk id, fused, dense and bm25 score) of the ranked hits."""
    reader = IndexReader.open(settings.index_dir)
    try:
        searcher = HybridSearcher(reader, settings)
        out = []
        for question in QUESTIONS:
            found = searcher.search(question, embedder.encode_query(question), k=8, filters=filters)
            chunks = reader.chunks([h.row for h in found])
            out.append([(reader.documents[c.doc_ordinal].source, c.chunk_id, h.score, h.dense_score, h.bm25_score)
                        for c, h in zip(chunks, found)])
        return out
    finally:
        reader.close()


def assert_same_hits(left: list[list[tuple]], right: list[list[tuple]]) -> None:
    for question, a, b in zip(QUESTIONS, left, right):
        assert [x[:2] for x in a] == [x[:2] for x in b], question
        assert np.allclose([x[2:] for x in a], [x[2:] for x in b], rtol=0, atol=1e-6), question


def segment_names(settings: Settings) -> list[str]:
    return [s["name"] for s in read_manifest(settings.index_dir)["segments"]]


@pytest.fixture(scope="module")
def embedder():
    return Embedder.for_settings(Settings())


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """All letters built at once: one segment."""
    root = tmp_path_factory.mktemp("whole")
    settings = Settings(corpus_dir=write_letters(root / "corpus", LETTERS), index_dir=root / "index")
    build_index(settings)
    assert len(segment_names(settings)) == 1
    return settings


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """The same letters added one build at a time, one of them removed and added again."""
    root = tmp_path_factory.mktemp("grown")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    names = list(LETTERS)
    write_letters(settings.corpus_dir, {names[0]: LETTERS[names[0]], names[1]: LETTERS[names[1]]})
    build_index(settings)
    for name in names[2:]:
        write_letters(settings.corpus_dir, {name: LETTERS[name]})
        build_index(settings)
    (settings.corpus_dir / names[0]).unlink()
    assert build_index(settings).removed == [names[0]]
    write_letters(settings.corpus_dir, {names[0]: LETTERS[names[0]]})
    assert build_index(settings).added == [names[0]]
    assert len(segment_names(settings)) == 5  # the first pair's segment keeps a tombstone
    return settings


def test_hits_and_scores_do_not_depend_on_the_segmentation(whole, grown, embedder):
    assert_same_hits(hits(whole, embedder), hits(grown, embedder))


def test_filtered_hits_do_not_depend_on_the_segmentation(whole, grown, embedder):
    filters = Filters(sources=("riverton.txt", "eastfield.txt", "northgate.txt"))
    found = hits(grown, embedder, filters)
    assert {h[0] for per_question in found for h in per_question} <= set(filters.sources)
    assert_same_hits(hits(whole, embedder, filters), found)


def test_answers_do_not_depend_on_the_segmentation(whole, grown):
    from retrieval import Assistant

    def answers(settings):
        assistant = Assistant.load(settings=settings)
        try:
            return [(a.answer, round(a.confidence, 6), [(p.source, p.chunk_id) for p in a.passages])
                    for a in map(assistant.ask, QUESTIONS)]
        finally:
            assistant.reader.close()

    assert answers(whole) == answers(grown)


def test_documents_are_numbered_by_source_whatever_the_segmentation(whole, grown):
    readers = [IndexReader.open(s.index_dir) for s in (whole, grown)]
    try:
        first, second = ([(d.ordinal, d.source, d.metadata) for d in r.documents] for r in readers)
        assert first == second and [s for _, s, _ in first] == sorted(LETTERS)
        for doc in readers[1].documents:
            sentences = readers[1].document_sentences(doc.ordinal)
            assert sentences and {s.doc_ordinal for s in sentences} == {doc.ordinal}
            assert readers[1].entities(doc.ordinal) == readers[0].entities(doc.ordinal)
            assert readers[1].text(doc.source) == readers[0].text(doc.source)
    finally:
        for reader in readers:
            reader.close()


def test_a_removed_letter_is_a_tombstone_and_never_found(whole, embedder, tmp_path):
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    shutil.copytree(whole.corpus_dir, settings.corpus_dir)
    shutil.copytree(whole.index_dir, settings.index_dir)
    before = segment_names(settings)
    (settings.corpus_dir / "harbourside.txt").unlink()
    report = build_index(settings)
    assert report.removed == ["harbourside.txt"] and report.embedded == 0
    assert segment_names(settings) == before  # no new segment
    assert len(read_manifest(settings.index_dir)["segments"][0]["deleted"]) == 1
    reader = IndexReader.open(settings.index_dir)
    try:
        assert "harbourside.txt" not in reader.by_source and len(reader.documents) == len(LETTERS) - 1
        assert "boxing" not in reader.bm25.vocab_dict  # only the removed letter used the word
        vector = embedder.encode_query(QUESTIONS[1])
        rows = HybridSearcher(reader, settings).search(QUESTIONS[1], vector, k=50)
        assert rows and all(reader.chunk_doc[h.row] >= 0 for h in rows)
        assert {c.doc_ordinal for c in reader.chunks([h.row for h in rows])} <= {d.ordinal for d in reader.documents}
    finally:
        reader.close()


def test_a_segment_whose_letters_are_all_removed_is_dropped(grown, tmp_path):
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    shutil.copytree(grown.corpus_dir, settings.corpus_dir)
    shutil.copytree(grown.index_dir, settings.index_dir)
    before = read_manifest(settings.index_dir)
    alone = before["files"]["harbourside.txt"]["segment"]
    (settings.corpus_dir / "harbourside.txt").unlink()
    build_index(settings)
    assert segment_names(settings) == [s["name"] for s in before["segments"] if s["name"] != alone]
    assert not (settings.index_dir / "segments" / alone).exists()


def test_adding_a_letter_writes_one_segment_and_leaves_the_others_untouched(whole, tmp_path):
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    shutil.copytree(whole.corpus_dir, settings.corpus_dir)
    shutil.copytree(whole.index_dir, settings.index_dir)
    (old,) = segment_names(settings)
    files = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in (settings.index_dir / "segments" / old).rglob("*")}
    write_letters(settings.corpus_dir, {"westbrook.txt": "Dear Sir,\n\nWestbrook library opens on Sundays from June.\n"})
    report = build_index(settings)
    assert report.added == ["westbrook.txt"] and 0 < report.embedded <= 4
    names = segment_names(settings)
    assert names[0] == old and len(names) == 2
    assert {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in files} == files
    new_segment = read_manifest(settings.index_dir)["segments"][1]
    assert new_segment["documents"] == 1 and new_segment["deleted"] == []
    assert build_index(settings).noop


def test_a_changed_letter_is_a_tombstone_and_a_new_segment(whole, tmp_path):
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    shutil.copytree(whole.corpus_dir, settings.corpus_dir)
    shutil.copytree(whole.index_dir, settings.index_dir)
    path = settings.corpus_dir / "eastfield.txt"
    path.write_text(path.read_text().replace("£8,000", "£9,500"))
    report = build_index(settings)
    assert report.changed == ["eastfield.txt"] and report.embedded <= 3  # the edited sentence and its chunk
    first, second = read_manifest(settings.index_dir)["segments"]
    assert len(first["deleted"]) == 1 and second["documents"] == 1
    reader = IndexReader.open(settings.index_dir)
    try:
        assert "£9,500" in reader.text("eastfield.txt") and len(reader.documents) == len(LETTERS)
    finally:
        reader.close()


def test_past_max_segments_the_small_segments_merge(grown, embedder, tmp_path):
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", max_segments=3)
    shutil.copytree(grown.corpus_dir, settings.corpus_dir)
    shutil.copytree(grown.index_dir, settings.index_dir)
    before = hits(grown, embedder)
    write_letters(settings.corpus_dir, {"westbrook.txt": "Dear Sir,\n\nWestbrook library opens on Sundays from June.\n"})
    report = build_index(settings)
    assert report.segments <= 3 and report.merge_seconds > 0
    (settings.corpus_dir / "westbrook.txt").unlink()
    build_index(settings)
    assert_same_hits(before, hits(settings, embedder))
    assert sorted(p.name for p in (settings.index_dir / "segments").iterdir()) == sorted(segment_names(settings))


def test_optimize_merges_every_segment_into_one_with_the_same_hits(grown, embedder, tmp_path):
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    shutil.copytree(grown.corpus_dir, settings.corpus_dir)
    shutil.copytree(grown.index_dir, settings.index_dir)
    report = optimize_index(settings)
    assert report.segments_before == 5 and report.segments == 1 and not report.noop
    (segment,) = read_manifest(settings.index_dir)["segments"]
    assert segment["deleted"] == [] and segment["documents"] == len(LETTERS)
    assert_same_hits(hits(grown, embedder), hits(settings, embedder))
    assert build_index(settings).noop  # the letters' files still match the manifest
    assert optimize_index(settings).noop


def test_a_damaged_segment_is_rewritten_alone_from_its_intact_vectors(grown, tmp_path):
    from index.store import verify

    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    shutil.copytree(grown.corpus_dir, settings.corpus_dir)
    shutil.copytree(grown.index_dir, settings.index_dir)
    before = segment_names(settings)
    damaged = read_manifest(settings.index_dir)["files"]["eastfield.txt"]["segment"]
    (settings.index_dir / "segments" / damaged / "dense.faiss").write_bytes(b"\0" * 64)
    report = build_index(settings)
    assert report.repaired == [f"segments/{damaged}/dense.faiss"]
    assert report.embedded == 0 and report.reused_vectors > 0  # its vectors were intact
    after = segment_names(settings)
    assert after[:-1] == [name for name in before if name != damaged] and after[-1] not in before
    assert read_manifest(settings.index_dir)["files"]["eastfield.txt"]["segment"] == after[-1]
    assert verify(settings.index_dir)[2] == []


# --- pure parts ---------------------------------------------------------------------------------
def test_plan_merge_takes_the_smallest_and_leaves_a_big_segment_alone():
    assert plan_merge([100, 1, 1], max_segments=3) == []
    assert plan_merge([10_000, 50, 1, 1], max_segments=3) == [2, 3]
    assert plan_merge([10_000, 3, 1, 1, 2], max_segments=4) == [1, 2, 3, 4]  # 2 <= 1+1, then 3 <= 4: absorbed
    assert plan_merge([5, 5, 5], max_segments=1) == [0, 1, 2]


def test_postings_hold_raw_term_frequencies_and_merge_by_kept_rows():
    chunks = [["fund", "grant", "fund"], ["police"], ["grant", "police", "police"]]
    postings = from_tokens(chunks)
    column = postings.column("police")
    span = slice(postings.indptr[column], postings.indptr[column + 1])
    assert postings.rows[span].tolist() == [1, 2] and postings.tf[span].tolist() == [1.0, 2.0]
    assert postings.doc_len.tolist() == [3, 1, 3]
    merged = concatenate([(postings, np.array([True, False, True])), (from_tokens([["fund"]]), np.array([True]))])
    column = merged.column("fund")
    span = slice(merged.indptr[column], merged.indptr[column + 1])
    assert merged.rows[span].tolist() == [0, 2] and merged.tf[span].tolist() == [2.0, 1.0]
    assert merged.doc_len.tolist() == [3, 3, 1]


def test_bm25_over_segments_equals_bm25s_over_the_whole_corpus():
    import bm25s

    from index.lexical import tokens

    texts = [" ".join(t.split()) for t in LETTERS.values()]
    chunk_tokens = [tokens(sentence) or [""] for text in texts for sentence in text.split(". ")]
    reference = bm25s.BM25()
    reference.index(chunk_tokens, show_progress=False)
    cut = len(chunk_tokens) // 3
    parts = [from_tokens(chunk_tokens[:cut]), from_tokens(chunk_tokens[cut:])]
    ours = BM25([ScoredSegment(parts[0], 0, None), ScoredSegment(parts[1], cut, None)], len(chunk_tokens))
    for question in QUESTIONS:
        query = [t for t in tokens(question) if t in ours.vocab_dict]
        assert np.allclose(ours.get_scores(query), reference.get_scores(query), atol=1e-5)
