"""Readers pin the build they opened; a long-lived Assistant follows rebuilds; a CLI ask that starts
while builds swap the index answers."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from index.building import build_index
from index.store import IndexReader, current_build
from tests.conftest import ROOT
from tests.reliability.conftest import build_folders, toggle_extra_letter

HARBOUR_QUESTION = "How many weekend boxing clubs did the Harbourside Youth Fund pay for?"


def in_new_thread(fn):
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


def test_an_open_reader_keeps_its_build_until_it_is_closed(town_index):
    reader = IndexReader.open(town_index.index_dir)
    toggle_extra_letter(town_index)
    build_index(town_index)
    assert current_build(town_index.index_dir) != reader.build and reader.build.is_dir()
    assert not reader.is_current()
    # everything still loads, lazily and from a thread that never opened the database
    assert "Riverton Custody Fund" in in_new_thread(lambda: reader.text("riverton.txt"))
    assert reader.dense.ntotal == reader.n_chunks
    assert reader.sentence_vectors.shape[0] == reader.manifest["counts"]["sentences"]
    reader.close()
    build_index(town_index)  # a no-op build still clears the build nobody reads any more
    assert build_folders(town_index) == [current_build(town_index.index_dir).name]


def test_an_assistant_answers_across_rebuilds_in_its_thread_and_in_new_ones(town_index):
    from retrieval import Assistant

    assistant = Assistant.load(settings=town_index)
    first_build = assistant.reader.build
    before = assistant.ask(HARBOUR_QUESTION)
    assert "12" not in (before.answer or "")

    toggle_extra_letter(town_index)
    build_index(town_index)
    after = in_new_thread(lambda: assistant.ask(HARBOUR_QUESTION))
    assert after.answer and "12" in after.answer and after.citations[0].source == "harbourside.txt"
    assert assistant.letters.info().currsize == 0  # what it had read of the old build's letters is let go
    assert assistant.ask(HARBOUR_QUESTION).answer == after.answer
    assert in_new_thread(lambda: assistant.compare(HARBOUR_QUESTION))[0].letter == "harbourside.txt"

    build_index(town_index)  # the first build was released by the reopen: clean-up removes it now
    assert not first_build.exists()
    toggle_extra_letter(town_index)
    build_index(town_index)
    gone = in_new_thread(lambda: assistant.ask(HARBOUR_QUESTION))
    assert all(p.source != "harbourside.txt" for p in gone.passages)


def test_cli_asks_started_while_the_index_is_rebuilt_all_answer(town_index):
    command = [sys.executable, "-m", "retrieval", "ask", "Who chairs the independent custody visiting scheme?",
               "--index-dir", str(town_index.index_dir), "--json"]
    stop = threading.Event()
    builds = []

    def rebuild_until_stopped():
        while not stop.is_set():
            toggle_extra_letter(town_index)
            builds.append(build_index(town_index.replace(build_wait_seconds=60)))
            stop.wait(0.3)  # leave the asking processes some CPU

    builder = threading.Thread(target=rebuild_until_stopped)
    builder.start()
    try:
        asks = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
        results = [(p.wait(300), *p.communicate()) for p in asks]
    finally:
        stop.set()
        builder.join(300)
    assert len(builds) >= 2
    for code, out, err in results:
        assert code == 0, err
        assert "Riverton Community Safety Board" in json.loads(out)["answer"]
