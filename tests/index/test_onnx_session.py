"""onnxruntime sessions start from a saved graph-optimised copy of the export, with the same vectors."""
from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import numpy as np

from index.embedding import resolve_model
from index.onnx_encoding import OnnxEncoder, optimised_path
from index.onnx_export import onnx_model
from index.settings import DEFAULT_MODEL

TEXTS = ["Who signed the letter?", "What grants does the Safer Communities Fund offer? " * 8, "x"]


def _export_copy(tmp_path: Path):
    model_dir = Path(resolve_model(DEFAULT_MODEL))
    exported = onnx_model(model_dir)
    copy = tmp_path / exported.path.name
    shutil.copyfile(exported.path, copy)
    return model_dir, dataclasses.replace(exported, path=copy)


def test_the_first_session_saves_the_optimised_graph_and_later_ones_start_from_it(tmp_path):
    model_dir, exported = _export_copy(tmp_path)
    saved = optimised_path(exported)
    assert not saved.exists()
    first = OnnxEncoder(model_dir, exported)
    assert saved.is_file() and first.session._model_path == str(exported.path)
    second = OnnxEncoder(model_dir, exported)
    assert second.session._model_path == str(saved)
    assert np.array_equal(first.encode(TEXTS), second.encode(TEXTS))
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_a_damaged_optimised_copy_is_replaced(tmp_path, caplog):
    model_dir, exported = _export_copy(tmp_path)
    reference = OnnxEncoder(model_dir, exported).encode(TEXTS)
    optimised_path(exported).write_bytes(b"not a model")
    with caplog.at_level(logging.WARNING, logger="index.onnx_encoding"):
        encoder = OnnxEncoder(model_dir, exported)
    assert "unusable" in caplog.text
    assert np.array_equal(encoder.encode(TEXTS), reference)
    assert OnnxEncoder(model_dir, exported).session._model_path == str(optimised_path(exported))
