"""The Ray engine (index.ray_engine): the same index as the local engine, and only new work goes to Ray."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from bench.parity import compare
from index.building import build_index
from index.engines import LocalEngine, make_engine, parse_files
from index.loading import discover
from index.records import Skipped
from index.settings import Settings
from tests.conftest import ROOT, SHIPPED, TOWN_LETTERS, write_letters

pytest.importorskip("ray", reason="Ray is in requirements-scale.txt (python3 dev.py test installs it)")

QUESTIONS = ["Who chairs the independent custody visiting scheme?", "How many roads policing officers were recruited?",
             "When was the speed awareness pilot?", "What does the Riverton Custody Fund offer?",
             "What is the Prevent duty?", "Who wrote the letter from Greater Manchester?", "What is the capital of Peru?"]
EXTRA = {"eastbury.txt": """
    Eastbury Borough Council

    2 February 2022

    Dear Minister,

    Re: Flood defences

    The council has built 3 kilometres of new flood walls along the River Ease since 2020.
    Residents in 420 homes can now insure their property at standard rates.

    Yours sincerely

    Amira Shah
    Chief Executive
    """}


class RecordingRayEngine:
    """The real Ray engine, noting which files each build sends it."""

    def __init__(self, settings):
        self.engine = make_engine("ray", settings)
        self.name = "ray"
        self.parsed: list[list[str]] = []
        self.embedded: list[int] = []

    def parse(self, files, progress=None):
        self.parsed.append([f.source for f in files])
        return self.engine.parse(files, progress)

    def embed(self, texts, progress=None, show_progress=False):
        self.embedded.append(len(texts))
        return self.engine.embed(texts, progress, show_progress)

    def close(self):
        self.engine.close()


def corpus_with_bad_file(folder):
    corpus = write_letters(folder / "corpus", TOWN_LETTERS)
    for name in ("gmca-2020-05-04-prevent-response.txt", "west-yorkshire-pcc-2020-06-19-prevent-response.txt"):
        shutil.copy(SHIPPED / name, corpus / name)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not a pdf \x00\xff")
    return corpus


@pytest.mark.slow
def test_a_ray_build_equals_the_local_build_and_sends_ray_only_new_or_changed_letters(tmp_path):
    local_corpus = corpus_with_bad_file(tmp_path / "local")
    ray_corpus = corpus_with_bad_file(tmp_path / "ray")
    local = Settings(corpus_dir=local_corpus, index_dir=tmp_path / "local" / "index")
    remote = Settings(corpus_dir=ray_corpus, index_dir=tmp_path / "ray" / "index")
    engine = RecordingRayEngine(remote)
    try:
        local_report = build_index(local)
        ray_report = build_index(remote, engine=engine)
        assert [s.line() for s in ray_report.skipped] == [s.line() for s in local_report.skipped]
        assert any(s.path == "broken.pdf" for s in ray_report.skipped)
        assert sorted(engine.parsed[0]) == sorted(f.source for f in discover(ray_corpus, remote.max_file_bytes).files)
        first = compare(local.index_dir, remote.index_dir, QUESTIONS)
        print(first.line())
        assert first.ok, first

        # one letter added, one changed: only those two go to Ray, and only their new texts are embedded
        for corpus in (local_corpus, ray_corpus):
            write_letters(corpus, EXTRA)
            riverton = corpus / "riverton.txt"
            riverton.write_text(riverton.read_text().replace("14 custody officers", "16 custody officers"))
        local_report = build_index(local)
        ray_report = build_index(remote, engine=engine)
        assert sorted(engine.parsed[1]) == ["eastbury.txt", "riverton.txt"]
        assert ray_report.embedded == local_report.embedded == engine.embedded[1]
        assert 0 < ray_report.embedded < ray_report.sentences
        assert ray_report.segments == local_report.segments == 2  # the two letters went into one new segment
        second = compare(local.index_dir, remote.index_dir, QUESTIONS + ["What did Eastbury build along the River Ease?"])
        print(second.line())
        assert second.ok, second

        assert build_index(remote, engine=engine).noop and len(engine.parsed) == 2  # nothing new: Ray not asked
    finally:
        engine.close()


def test_the_parse_stage_keeps_input_order_and_reports_bad_files_in_place(tmp_path):
    corpus = corpus_with_bad_file(tmp_path)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    files = discover(corpus, settings.max_file_bytes).files
    results = parse_files(files, settings)
    assert [r.path if isinstance(r, Skipped) else r.document.source for r in results] == [f.source for f in files]
    letter = next(r for r in results if not isinstance(r, Skipped) and r.document.source == "riverton.txt")
    assert letter.metadata.sender == "Jane Holloway"
    assert len(letter.spans) == len(letter.sentence_hashes) and letter.chunks and letter.entities


def test_the_cli_refuses_a_ray_address_without_the_ray_engine(tmp_path):
    corpus = write_letters(tmp_path / "corpus", TOWN_LETTERS)
    done = subprocess.run([sys.executable, "-m", "index", "build", "--corpus", str(corpus), "--index-dir",
                           str(tmp_path / "index"), "--ray-address", "auto"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "--ray-address needs --engine ray" in done.stderr
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_the_local_engine_embeds_in_the_given_order(tmp_path):
    engine = LocalEngine(Settings())
    texts = ["a short one", "a much longer text about flood defences along the river", "x"]
    together = engine.embed(texts)
    assert together.shape == (3, 384)
    for i, text in enumerate(texts):
        assert abs(float(together[i] @ engine.embed([text])[0]) - 1.0) < 1e-5
