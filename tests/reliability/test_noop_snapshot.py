"""A no-op build trusts the corpus snapshot (index/snapshot.py) only while nothing it depends on changed:
the listing (sizes, mtimes), the settings, the current build and its manifest, the segments' files,
and the content of files modified just before the snapshot was taken (git's racily clean files)."""
from __future__ import annotations

import json
import os

import pytest

from index import building, store
from index.building import build_index
from index.snapshot import SNAPSHOT_FILE, read_snapshot
from index.store import IndexReader, current_build
from tests.reliability.conftest import listed_segments, segment_file, segment_folders, toggle_extra_letter

LETTER = "riverton.txt"


@pytest.fixture
def snapshotted(town_index):
    """The town index after a build that recorded its snapshot (the copy's paths differ from the template's)."""
    build_index(town_index)
    assert read_snapshot(town_index.index_dir).build == current_build(town_index.index_dir).name
    return town_index


def manifest_unreadable(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("the manifest was read")

    monkeypatch.setattr(building, "read_manifest", refuse)
    monkeypatch.setattr(store, "_manifest_of", refuse)


def test_a_no_op_build_answers_from_the_snapshot_without_reading_the_manifest(snapshotted, monkeypatch):
    (snapshotted.corpus_dir / "empty.txt").write_text("")
    (snapshotted.corpus_dir / "notes.xlsx").write_bytes(b"PK")
    build_index(snapshotted)  # a new skipped file and an ignored one: a real build, recorded anew
    (snapshotted.index_dir / SNAPSHOT_FILE).unlink()
    through_manifest = build_index(snapshotted)
    manifest_unreadable(monkeypatch)
    from_snapshot = build_index(snapshotted)

    def figures(report):
        return (report.noop, report.documents, report.chunks, report.sentences, [s.line() for s in report.skipped],
                report.ignored, report.segments, report.index_path)

    assert figures(from_snapshot) == figures(through_manifest)
    assert from_snapshot.noop and from_snapshot.skipped and from_snapshot.ignored == 1


def test_a_letter_rewritten_with_the_same_size_and_mtime_just_after_a_build_is_caught(snapshotted):
    path = snapshotted.corpus_dir / LETTER
    text = path.read_text(encoding="utf-8")
    assert "Riverton" in text
    path.write_text(text.replace("Riverton", "Rivertun"), encoding="utf-8")
    assert build_index(snapshotted).changed == [LETTER]  # the manifest and snapshot record its new mtime
    stat = path.stat()
    path.write_text(text.replace("Riverton", "Rivertan"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as if written within the same clock tick
    assert path.stat().st_size == stat.st_size

    report = build_index(snapshotted)
    assert report.changed == [LETTER] and not report.noop
    assert "Rivertan" in IndexReader.open(snapshotted.index_dir).text(LETTER)


def test_like_git_an_old_letter_rewritten_with_its_size_and_mtime_restored_is_not_hashed_again(snapshotted):
    path = snapshotted.corpus_dir / LETTER
    old = path.stat().st_mtime_ns - 3_600 * 10**9  # an hour before the scan: not racy
    os.utime(path, ns=(old, old))
    build_index(snapshotted)  # the stat changed: hashed, same content, snapshot without racy files
    assert read_snapshot(snapshotted.index_dir).racy == {}
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Riverton", "Rivertun"), encoding="utf-8")
    os.utime(path, ns=(old, old))
    assert build_index(snapshotted).noop  # size + mtime_ns decide, as `git status` does; `--rebuild` re-reads


def test_a_changed_setting_or_letter_bypasses_the_snapshot(snapshotted):
    import dataclasses

    assert not build_index(dataclasses.replace(snapshotted, chunk_tokens=64)).noop
    assert not build_index(snapshotted).noop  # and back
    toggle_extra_letter(snapshotted)
    assert build_index(snapshotted).added == ["harbourside.txt"]
    toggle_extra_letter(snapshotted)
    assert build_index(snapshotted).removed == ["harbourside.txt"]


def test_a_segment_damaged_after_the_snapshot_is_repaired_by_the_next_build(snapshotted):
    assert build_index(snapshotted).noop
    path, part = segment_file(snapshotted, "sentence_vectors.npy")
    path.write_bytes(b"\0" * path.stat().st_size)  # same size, new mtime
    report = build_index(snapshotted)
    assert report.repaired == [part] and not report.noop


def test_a_lost_or_stale_snapshot_costs_only_the_shortcut(snapshotted, monkeypatch):
    (snapshotted.index_dir / SNAPSHOT_FILE).write_text("{not json")
    assert build_index(snapshotted).noop  # through the manifest, which records a new snapshot
    assert read_snapshot(snapshotted.index_dir) is not None
    snapshot = json.loads((snapshotted.index_dir / SNAPSHOT_FILE).read_text())
    snapshot["build"] = "build-20200101T000000000000Z"  # a snapshot of another build
    (snapshotted.index_dir / SNAPSHOT_FILE).write_text(json.dumps(snapshot))
    assert build_index(snapshotted).noop
    manifest_unreadable(monkeypatch)
    assert build_index(snapshotted).noop  # recorded again: the shortcut is back


def test_an_index_written_before_snapshots_and_segment_lists_is_used_and_kept(snapshotted):
    build = current_build(snapshotted.index_dir)
    (snapshotted.index_dir / SNAPSHOT_FILE).unlink()
    (build / store.LISTED_SEGMENTS).unlink()
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    del manifest["scanned_at_ns"]
    (build / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    assert build_index(snapshotted).noop
    assert segment_folders(snapshotted) == listed_segments(snapshotted)  # clean-up read the manifest
    assert IndexReader.open(snapshotted.index_dir).documents


def test_a_segment_list_that_disagrees_with_its_manifest_is_not_trusted_by_the_clean_up(snapshotted):
    build = current_build(snapshotted.index_dir)
    (build / store.LISTED_SEGMENTS).write_text(json.dumps({"manifest_bytes": 1, "names": []}))
    store.collect_garbage(snapshotted.index_dir)
    assert segment_folders(snapshotted) == listed_segments(snapshotted) != []
