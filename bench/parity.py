"""Do two indexes of the same corpus hold the same thing? Used to check the Ray engine against the local one.

    python -m bench.parity INDEX_A INDEX_B [--questions eval/questions.jsonl]

Rows (segments and their tombstones, documents, metadata, sentences, chunks, entities) must be equal; vectors equal within `tolerance`
(two runs of the model on differently composed batches differ in the last float bits); answers to every
question equal in text, abstention, citations and passage order, confidence within 1e-3.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VECTOR_TOLERANCE = 1e-5  # issue 14: the Ray build's vectors match the local build's within 1e-5


@dataclass(frozen=True)
class Parity:
    same_rows: bool
    row_differences: tuple[str, ...]
    max_chunk_vector_diff: float
    max_sentence_vector_diff: float
    questions: int
    same_answers: int
    answer_differences: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return (self.same_rows and max(self.max_chunk_vector_diff, self.max_sentence_vector_diff) <= VECTOR_TOLERANCE
                and self.same_answers == self.questions)

    def line(self) -> str:
        return (f"rows {'identical' if self.same_rows else 'DIFFER: ' + '; '.join(self.row_differences[:3])}; "
                f"max |vector diff| chunks {self.max_chunk_vector_diff:.2e}, sentences {self.max_sentence_vector_diff:.2e} "
                f"(tolerance {VECTOR_TOLERANCE:.0e}); answers identical {self.same_answers}/{self.questions}")


def _rows(reader) -> dict[str, list]:
    """Every segment's table rows (tagged with the segment's position) and the segments' shapes and
    tombstones; segment names are left out (they are timestamps)."""
    from index.store import segment_entries

    out: dict[str, list] = {"segments": [], "documents": [], "sentences": [], "chunks": [], "entities": []}
    queries = {
        "documents": "SELECT ordinal, doc_id, source, format, sha256, text, metadata, pages, warnings "
                     "FROM documents ORDER BY ordinal",
        "sentences": 'SELECT row, doc_ordinal, start, "end", boilerplate, embed_hash FROM sentences ORDER BY row',
        "chunks": "SELECT * FROM chunks ORDER BY row",
        "entities": "SELECT * FROM entities ORDER BY doc_ordinal",
    }
    for position, (seg, entry) in enumerate(zip(reader.segments, segment_entries(reader.manifest))):
        out["segments"].append((entry["documents"], entry["chunks"], entry["sentences"],
                                tuple(entry.get("deleted") or ())))
        db = reader._db(seg)
        for table, query in queries.items():
            out[table] += [(position, *row) for row in db.execute(query).fetchall()]
    return out


def _max_diff(a, b) -> float:
    """Largest absolute difference of two arrays (or the reader's row stacks over segments)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def _answer_key(answer) -> tuple:
    return (answer.answer, answer.abstained, answer.answer_type,
            tuple((c.source, c.char_start, c.char_end) for c in answer.citations),
            tuple((p.source, p.char_start, p.char_end) for p in answer.passages))


def compare(index_a: Path, index_b: Path, questions: list[str] = ()) -> Parity:
    from index.store import IndexReader
    from retrieval import Assistant

    a, b = IndexReader.open(index_a), IndexReader.open(index_b)
    try:
        rows_a, rows_b = _rows(a), _rows(b)
        differences = tuple(f"{table}: {len(rows_a[table])} vs {len(rows_b[table])} rows, first difference at row "
                            f"{next((i for i, (x, y) in enumerate(zip(rows_a[table], rows_b[table])) if x != y), None)}"
                            for table in rows_a if rows_a[table] != rows_b[table])
        chunk_diff = _max_diff(a.chunk_vectors, b.chunk_vectors)
        sentence_diff = _max_diff(a.sentence_vectors, b.sentence_vectors)
    finally:
        a.close()
        b.close()
    same, answer_differences = 0, []
    if questions:
        first, second = Assistant.load(index_a), Assistant.load(index_b)
        for question in questions:
            x, y = first.ask(question), second.ask(question)
            if _answer_key(x) == _answer_key(y) and abs(x.confidence - y.confidence) <= 1e-3:
                same += 1
            else:
                answer_differences.append(f"{question!r}: {x.answer!r} vs {y.answer!r}")
    return Parity(not differences, differences, chunk_diff, sentence_diff, len(questions), same,
                  tuple(answer_differences))


def benchmark_questions(path: Path) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parity", description=__doc__.splitlines()[0])
    parser.add_argument("index_a")
    parser.add_argument("index_b")
    parser.add_argument("--questions", default=None, help="a questions .jsonl whose questions both indexes answer")
    args = parser.parse_args(argv)
    questions = benchmark_questions(Path(args.questions)) if args.questions else []
    parity = compare(Path(args.index_a), Path(args.index_b), questions)
    print(parity.line())
    for line in parity.answer_differences[:10]:
        print("  differs:", line)
    return 0 if parity.ok else 1


if __name__ == "__main__":
    sys.exit(main())
