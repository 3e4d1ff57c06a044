"""One builder per index directory: a second one waits a bounded time or gives up with the holder's pid,
and two builds can no longer delete the live index between them."""
from __future__ import annotations

import os
import threading

import pytest

import index.store as store
from index.building import build_index
from index.locking import BuildLocked
from index.store import IndexReader, current_build
from tests.reliability.conftest import build_folders, run_module, toggle_extra_letter


class PausedBuild:
    """A build run in a thread that stops at a stage of write_build until released."""

    def __init__(self, monkeypatch, settings, stage: str):
        self.reached, self.release = threading.Event(), threading.Event()
        self.error: BaseException | None = None

        def pause(_path):
            if not self.reached.is_set():  # only the first build stops here
                self.reached.set()
                assert self.release.wait(120)

        monkeypatch.setitem(store.BUILD_HOOKS, stage, pause)
        self.thread = threading.Thread(target=self._run, args=(settings,))
        self.thread.start()
        assert self.reached.wait(120), "the build never reached the hook"

    def _run(self, settings):
        try:
            build_index(settings)
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def finish(self):
        self.release.set()
        self.thread.join(120)
        if self.error is not None:
            raise self.error


def test_a_second_builder_gives_up_with_the_holders_pid(town_index, monkeypatch):
    toggle_extra_letter(town_index)
    first = PausedBuild(monkeypatch, town_index, "swapped")  # between the swap and the clean-up
    try:
        with pytest.raises(BuildLocked, match=f"pid {os.getpid()}"):
            build_index(town_index)
        env = dict(os.environ, LETTERS_QA_BUILD_WAIT="0")
        cli = run_module("index", "build", "--corpus", str(town_index.corpus_dir), "--index-dir",
                         str(town_index.index_dir), env=env)
        assert cli.returncode == 2
        lines = cli.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: another build") and f"pid {os.getpid()}" in lines[0]
    finally:
        first.finish()
    reader = IndexReader.open(town_index.index_dir)
    assert "harbourside.txt" in reader.by_source
    reader.close()


def test_a_waiting_builder_runs_after_the_first_and_the_live_index_survives(town_index, monkeypatch):
    toggle_extra_letter(town_index)
    first = PausedBuild(monkeypatch, town_index, "written")  # its build complete, not yet renamed
    done = threading.Event()
    errors = []

    def second():
        try:
            build_index(town_index.replace(build_wait_seconds=120))
        except BaseException as exc:
            errors.append(exc)
        done.set()

    waiter = threading.Thread(target=second)
    waiter.start()
    assert not done.wait(1.0), "the second build did not wait for the first"
    first.finish()
    waiter.join(120)
    assert not errors
    build = current_build(town_index.index_dir)
    assert build is not None and build_folders(town_index) == [build.name]
    reader = IndexReader.open(town_index.index_dir)
    assert sorted(reader.by_source) == ["harbourside.txt", "lowmoor.txt", "riverton.txt"]
    reader.close()
