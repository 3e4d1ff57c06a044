"""What killed or finished builds leave behind is cleared by the next build, no-op builds included,
never touching the current build or one a reader still has open, nor the segments they list."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from index.building import build_index, optimize_index
from index.locking import LEASE_FILE, Lease
from index.store import PAUSE_VARIABLE, IndexReader, current_build
from tests.conftest import ROOT


def listed_segments_of(build):
    import json

    return [s["name"] for s in json.loads((build / "manifest.json").read_text())["segments"]]
from tests.reliability.conftest import build_folders, listed_segments, segment_folders, toggle_extra_letter


def plant_leftovers(index_dir):
    staging = index_dir / ".staging-20200101T000000000000Z-99999"  # a build killed while writing
    (staging / "bm25").mkdir(parents=True)
    (staging / "chunk_vectors.npy").write_bytes(b"\0" * 4096)
    (index_dir / ".trash-build-20200101T000000000001Z").mkdir()
    (index_dir / ".CURRENT.99999").write_text("build-nowhere\n")
    (index_dir / ".corpus-snapshot.json.99999").write_text("{")  # a snapshot half-written by a killed builder
    orphan = index_dir / "build-20200101T000000000002Z"
    orphan.mkdir()
    (orphan / LEASE_FILE).write_bytes(b"")
    (index_dir / "build-20200101T000000000003Z").mkdir()  # renamed by a builder killed before its swap
    (index_dir / "segments" / ".staging-seg-20200101T000000000004Z-99999").mkdir()
    (index_dir / "segments" / "seg-20200101T000000000005Z").mkdir()  # written by a builder killed before its swap


def test_a_no_op_build_clears_staging_trash_and_orphaned_builds(town_index):
    plant_leftovers(town_index.index_dir)
    live = current_build(town_index.index_dir)
    assert build_index(town_index).noop
    assert build_folders(town_index) == [live.name]
    assert sorted(p.name for p in town_index.index_dir.iterdir()) == sorted([".build.lock", "CURRENT", "corpus-snapshot.json", live.name, "segments"])
    assert segment_folders(town_index) == listed_segments(town_index)
    assert IndexReader.open(town_index.index_dir).documents


def test_a_build_that_a_reader_still_uses_is_kept_until_released(town_index):
    orphan = town_index.index_dir / "build-20200101T000000000002Z"
    orphan.mkdir()
    (orphan / LEASE_FILE).write_bytes(b"")
    lease = Lease.take(orphan)
    build_index(town_index)
    assert orphan.is_dir()
    lease.release()
    build_index(town_index)
    assert not orphan.exists()


def test_the_segments_of_a_build_a_reader_still_uses_are_kept_until_released(town_index):
    reader = IndexReader.open(town_index.index_dir)
    old_segments = listed_segments(town_index)
    toggle_extra_letter(town_index)
    build_index(town_index)
    optimize_index(town_index)  # the current build no longer lists the old segment
    assert not set(old_segments) & set(listed_segments(town_index))
    assert set(old_segments) <= set(segment_folders(town_index))
    assert "Riverton Custody Fund" in reader.text("riverton.txt") and reader.dense.ntotal == reader.n_chunks
    reader.close()
    build_index(town_index)
    assert segment_folders(town_index) == listed_segments(town_index)


def test_a_builder_killed_while_writing_leaves_nothing_the_next_build_keeps(town_index):
    """kill -9 of a CLI build while its staging folder exists; the next build removes the folder."""
    toggle_extra_letter(town_index)
    before = current_build(town_index.index_dir)
    builder = subprocess.Popen([sys.executable, "-m", "index", "build", "--quiet", "--corpus",
                                str(town_index.corpus_dir), "--index-dir", str(town_index.index_dir)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, PAUSE_VARIABLE: "written"})
    deadline = time.monotonic() + 120
    while not list(town_index.index_dir.glob(".staging-*/manifest.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    builder.send_signal(signal.SIGKILL)
    builder.wait(60)
    assert list(town_index.index_dir.glob(".staging-*")), "the build was not killed while writing"
    assert current_build(town_index.index_dir) == before  # the live index was untouched

    build_index(town_index)
    assert build_folders(town_index) == [current_build(town_index.index_dir).name]
    assert segment_folders(town_index) == listed_segments(town_index)


def test_without_a_readable_current_pointer_no_build_is_deleted(town_index):
    from index.store import collect_garbage

    live = current_build(town_index.index_dir)
    (town_index.index_dir / "CURRENT").unlink()
    plant_leftovers(town_index.index_dir)
    collect_garbage(town_index.index_dir)
    assert live.is_dir() and (town_index.index_dir / "build-20200101T000000000002Z").is_dir()
    assert not list(town_index.index_dir.glob(".staging-*"))
    assert segment_folders(town_index) == sorted(listed_segments_of(live) + ["seg-20200101T000000000005Z"])
