"""Embedding: onnxruntime gives sentence-transformers' vectors, without torch at query time."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from index.chunking import split_sentences
from index.embedding import Embedder, ModelUnavailable, resolve_model, split_model_id
from index.loading import discover, load_document
from index.onnx_encoding import mean_pool_normalise
from index.onnx_export import export_folder, model_content_hash, onnx_model
from index.settings import DEFAULT_MODEL
from index.store import IndexUnavailable, read_manifest
from tests.conftest import ROOT, SHIPPED


def shipped_sentences() -> list[str]:
    texts = []
    for file in discover(SHIPPED, 1 << 30).files:
        doc = load_document(file)
        texts += [doc.text[s.start:s.end] for s in split_sentences(doc.text)]
    return texts


def test_mean_pooling_ignores_padding_and_normalises():
    hidden = np.array([[[1.0, 0.0], [3.0, 4.0], [100.0, 100.0]]], dtype=np.float32)
    vector = mean_pool_normalise(hidden, np.array([[1, 1, 0]]))
    assert np.allclose(vector, [[2 / np.hypot(2, 2), 2 / np.hypot(2, 2)]])


def test_model_ids_name_the_int8_variant_apart():
    assert split_model_id(DEFAULT_MODEL) == (DEFAULT_MODEL, "fp32")
    assert split_model_id(f"{DEFAULT_MODEL}@int8") == (DEFAULT_MODEL, "int8")


@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers_on_the_shipped_letters():
    texts = shipped_sentences() + ["word " * 600]  # and one past the 256-token truncation
    onnx = Embedder(backend="onnx")
    onnx_vectors = onnx.encode(texts)
    assert onnx.uses_onnx
    torch_vectors = Embedder(backend="torch").encode(texts)
    assert onnx_vectors.shape == torch_vectors.shape == (len(texts), 384)
    assert np.abs(onnx_vectors - torch_vectors).max() < 1e-5
    single = np.stack([onnx.encode_query(t) for t in texts[:10]])
    assert np.abs(single - torch_vectors[:10]).max() < 1e-5


def test_manifest_records_the_model_and_its_onnx_export(shipped_settings):
    embedder = read_manifest(shipped_settings.index_dir)["embedder"]
    model_dir = resolve_model(DEFAULT_MODEL)
    assert embedder["model"] == DEFAULT_MODEL and embedder["backend"] == "onnxruntime"
    assert embedder["model_sha256"] == model_content_hash(model_dir)
    exported = onnx_model(model_dir)
    assert embedder["onnx"]["onnx_sha256"] == exported.onnx_sha256 and embedder["onnx"]["precision"] == "fp32"


def test_a_fresh_process_that_only_asks_never_imports_torch(shipped_settings):
    script = (
        "import sys, json\n"
        "from retrieval.__main__ import main\n"
        f"code = main(['ask', 'What is the maximum Safer Communities Fund grant?', '--json', "
        f"'--index-dir', {str(shipped_settings.index_dir)!r}])\n"
        "print(json.dumps({'code': code, 'torch': 'torch' in sys.modules, "
        "'st': 'sentence_transformers' in sys.modules}))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = result.stdout.strip().splitlines()
    assert json.loads(lines[0])["answer"], result.stderr
    assert json.loads(lines[-1]) == {"code": 0, "torch": False, "st": False}


def test_the_export_is_keyed_by_the_model_folders_content(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(resolve_model(DEFAULT_MODEL), model)
    cache = tmp_path / "cache"
    before = model_content_hash(model, cache)
    assert model_content_hash(model, cache) == before  # remembered, same answer
    (model / "README.md").write_text("changed\n", encoding="utf-8")
    after = model_content_hash(model, cache)
    assert after != before and export_folder(after, cache) != export_folder(before, cache)


@pytest.mark.slow
def test_a_changed_model_is_exported_again_and_a_damaged_export_replaced(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(resolve_model(DEFAULT_MODEL), model)
    cache = tmp_path / "cache"
    first = onnx_model(model, cache_dir=cache)
    assert first.path.is_file() and onnx_model(model, cache_dir=cache).path == first.path
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "note": "edited"}), encoding="utf-8")
    second = onnx_model(model, cache_dir=cache)
    assert second.path != first.path and second.path.is_file() and second.model_sha256 != first.model_sha256

    second.path.write_bytes(b"not an onnx file")  # a damaged cache entry is exported again on load
    embedder = Embedder(str(model), cache_dir=cache)
    vector = embedder.encode_query("Who signed the letter?")
    assert embedder.uses_onnx and abs(float(np.linalg.norm(vector)) - 1) < 1e-5


def test_an_int8_model_is_refused_by_an_fp32_index(shipped_settings):
    from retrieval import Assistant

    with pytest.raises(IndexUnavailable, match="rebuild"):
        Assistant.load(settings=shipped_settings.replace(model=f"{DEFAULT_MODEL}@int8"))


@pytest.mark.slow
def test_int8_is_its_own_index_built_from_scratch(tmp_path, shipped_settings):
    from index.building import build_index
    from retrieval import Assistant

    settings = shipped_settings.replace(index_dir=tmp_path / "index")
    build_index(settings)
    int8 = settings.replace(model=f"{DEFAULT_MODEL}@int8")
    report = build_index(int8)
    assert report.reused_vectors == 0 and report.embedded > 0  # no fp32 vector is kept
    manifest = read_manifest(int8.index_dir)
    assert manifest["model"] == f"{DEFAULT_MODEL}@int8" and manifest["embedder"]["onnx"]["precision"] == "int8"
    answer = Assistant.load(settings=int8).ask("What is the maximum Safer Communities Fund grant?")
    assert "£6k" in answer.answer
    with pytest.raises(IndexUnavailable):
        Assistant.load(settings=settings)


def test_a_model_onnx_cannot_run_falls_back_to_sentence_transformers_only_in_fp32(tmp_path):
    with pytest.raises(ModelUnavailable):
        Embedder(f"{tmp_path / 'no-model'}@int8").encode_query("hello")
