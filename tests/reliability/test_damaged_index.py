"""A damaged segment or build is refused with the file and the repairing command, found by `index
verify`, and repaired by the next `index build` (re-using the vectors that are intact)."""
from __future__ import annotations

import numpy as np
import pytest

from index.building import build_index
from index.store import IndexUnavailable, current_build, verify
from tests.reliability.conftest import run_module, segment_file, toggle_extra_letter

QUESTION = "Who chairs the independent custody visiting scheme?"


def remove(path):
    path.unlink()


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def zero_fill(path):
    path.write_bytes(b"\0" * path.stat().st_size)


def zero_body(path):
    """Keep a .npy header, zero the numbers: the file still loads, with other values."""
    data = path.read_bytes()
    header = data.index(b"\n") + 1
    path.write_bytes(data[:header] + b"\0" * (len(data) - header))


LOUD = [(part, damage) for part in ("dense.faiss", "sentence_vectors.npy", "bm25/tf.npy", "bm25/vocab.json")
        for damage in (remove, truncate, zero_fill)] + [("chunk_doc.npy", truncate), ("table.sqlite", zero_fill),
                                                         ("bm25/rows.npy", truncate)]
SILENT = [(part, zero_body) for part in ("sentence_vectors.npy", "chunk_vectors.npy", "bm25/tf.npy")]


def answer_of(settings):
    from retrieval import Assistant

    assistant = Assistant.load(settings=settings)
    try:
        answer = assistant.ask(QUESTION)
        return answer.answer, [(p.source, p.chunk_id, round(p.score, 6)) for p in answer.passages]
    finally:
        assistant.reader.close()


def assert_repaired(settings, part, before):
    build, _, problems = verify(settings.index_dir)
    assert [p.part for p in problems] == [part]
    report = build_index(settings)
    assert not report.noop and report.repaired == [part]
    assert f"repaired damaged {part}" in report.summary()
    assert verify(settings.index_dir)[2] == []
    assert not build.exists()  # the damaged build was cleared
    if part.startswith("segments/"):
        assert not (settings.index_dir / part).parent.exists()  # and so was the damaged segment
    assert answer_of(settings) == before
    assert build_index(settings).noop


@pytest.fixture(scope="module")
def before(town_template):
    """The answer of the undamaged index."""
    return answer_of(town_template)


@pytest.mark.parametrize("part,damage", LOUD, ids=[f"{p}-{d.__name__}" for p, d in LOUD])
def test_damage_is_refused_with_the_file_and_the_fix_then_repaired(town_index, before, part, damage):
    path, part = segment_file(town_index, part)
    damage(path)
    with pytest.raises(IndexUnavailable) as refused:
        answer_of(town_index)
    message = str(refused.value)
    assert part in message and "python -m index build" in message and "\n" not in message
    assert "pickle" not in message and "Traceback" not in message
    assert_repaired(town_index, part, before)


@pytest.mark.parametrize("part,damage", SILENT, ids=[f"{p}-{d.__name__}" for p, d in SILENT])
def test_zeroed_numbers_are_found_by_verify_and_repaired(town_index, before, part, damage):
    path, part = segment_file(town_index, part)
    damage(path)
    assert_repaired(town_index, part, before)


def test_deleted_chunk_vectors_do_not_break_the_next_incremental_build(town_index):
    stored_sentences = np.load(segment_file(town_index, "sentence_vectors.npy")[0])
    path, part = segment_file(town_index, "chunk_vectors.npy")
    path.unlink()
    toggle_extra_letter(town_index)
    report = build_index(town_index)
    assert report.added == ["harbourside.txt"] and report.repaired == [part]
    assert report.reused_vectors == len(np.unique(stored_sentences, axis=0))  # every stored sentence vector; chunks re-embedded
    assert verify(town_index.index_dir)[2] == []


def test_cli_names_the_damaged_file_and_verify_exits_1_then_0(town_index):
    index_dir = str(town_index.index_dir)
    zero_fill(segment_file(town_index, "sentence_vectors.npy")[0])
    asked = run_module("retrieval", "ask", QUESTION, "--index-dir", index_dir)
    assert asked.returncode == 2 and "Traceback" not in asked.stderr and "allow_pickle" not in asked.stderr
    lines = asked.stderr.strip().splitlines()
    assert len(lines) == 1 and "sentence_vectors.npy" in lines[0] and "python -m index build" in lines[0]

    checked = run_module("index", "verify", "--index-dir", index_dir)
    assert checked.returncode == 1
    assert checked.stdout.splitlines()[0].startswith("damaged ") and "sentence_vectors.npy" in checked.stdout
    build_index(town_index)
    assert run_module("index", "verify", "--index-dir", index_dir).returncode == 0


def test_a_build_without_its_lease_file_is_refused_and_repaired(town_index, before):
    build = current_build(town_index.index_dir)
    (build / ".lease").unlink()
    with pytest.raises(IndexUnavailable, match=r"\.lease missing.*python -m index build"):
        answer_of(town_index)
    assert_repaired(town_index, f"{build.name}/.lease", before)


def test_an_index_of_the_previous_format_is_refused_with_the_rebuild_command(town_index):
    import json

    manifest_path = current_build(town_index.index_dir) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 1
    manifest_path.write_text(json.dumps(manifest))
    for attempt in (lambda: answer_of(town_index), lambda: verify(town_index.index_dir)):
        with pytest.raises(IndexUnavailable, match=r"has format 1, this version reads 3; rebuild it with: "
                                                   r"python -m index build --rebuild"):
            attempt()
