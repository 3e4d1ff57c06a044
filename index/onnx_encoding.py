"""Sentence embeddings with onnxruntime: the same vectors as sentence-transformers, without torch.

Tokenise with the model folder's `tokenizer.json` (the `tokenizers` library, truncated to the model's
max_seq_length, padded to the longest text of the batch), run the exported transformer, mean-pool
its last hidden state under the attention mask and L2-normalise — what sentence-transformers'
Transformer → Pooling(mean) → Normalize pipeline computes.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from .onnx_export import OnnxModel

ST_TRANSFORMER = "sentence_transformers.models.Transformer"
ST_POOLING = "sentence_transformers.models.Pooling"
ST_NORMALIZE = "sentence_transformers.models.Normalize"
log = logging.getLogger(__name__)


class NotOnnxCompatible(ValueError):
    """The model folder is not a plain Transformer → mean Pooling (→ Normalize) sentence-transformer."""


def mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(batch, seq, dim) hidden states and a (batch, seq) 0/1 mask → L2-normalised (batch, dim) float32."""
    weights = mask.astype(np.float32)[:, :, None]
    summed = (hidden.astype(np.float32, copy=False) * weights).sum(axis=1)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    pooled = summed / counts
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32, copy=False)


def check_pipeline(model_dir: Path) -> int:
    """The max sequence length of a model folder whose pipeline the ONNX path reproduces exactly;
    raises NotOnnxCompatible otherwise."""
    model_dir = Path(model_dir)
    if not (model_dir / "tokenizer.json").is_file():
        raise NotOnnxCompatible(f"{model_dir} has no tokenizer.json")
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"] for m in modules]
        pooling_dir = next(model_dir / m["path"] for m in modules if m["type"] == ST_POOLING)
        pooling = json.loads((pooling_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, StopIteration) as exc:
        raise NotOnnxCompatible(f"{model_dir} is not a sentence-transformers folder ({exc})") from None
    if kinds not in ([ST_TRANSFORMER, ST_POOLING], [ST_TRANSFORMER, ST_POOLING, ST_NORMALIZE]):
        raise NotOnnxCompatible(f"{model_dir} has modules {kinds}")
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise NotOnnxCompatible(f"{model_dir} pools with {modes}, not the mean")
    try:
        config = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        raise NotOnnxCompatible(f"{model_dir} states no max_seq_length") from None


def optimised_path(exported: OnnxModel) -> Path:
    """Where onnxruntime's graph-optimised copy of an export is kept: beside it, named by the export's
    content and the onnxruntime version (the optimised graph is specific to both, and to this CPU)."""
    import onnxruntime as ort

    return exported.path.with_name(f"{exported.path.stem}.{exported.onnx_sha256[:16]}.ort-{ort.__version__}.onnx")


def optimised_session(exported: OnnxModel, options):
    """An onnxruntime session over `exported`, from its graph-optimised copy: optimising the graph is
    about half of a session's start (0.45 → 0.2 s here), so it is done once and saved. The same
    optimised graph runs either way, so the vectors are the same. Without a usable copy (first
    start, a damaged or unwritable cache) the session optimises the export itself and saves the copy
    for next time, atomically; saving is best-effort."""
    import onnxruntime as ort

    saved = optimised_path(exported)
    if saved.is_file():
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(saved), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # damaged: optimise the export again below
            log.warning("optimised ONNX copy %s unusable (%s); optimising again", saved, exc)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    partial = saved.with_name(f".{saved.name}.{os.getpid()}.partial")
    options.optimized_model_filepath = str(partial)
    session = ort.InferenceSession(str(exported.path), sess_options=options, providers=["CPUExecutionProvider"])
    try:
        os.replace(partial, saved)
    except OSError as exc:
        log.info("optimised ONNX copy not saved (%s)", exc)
        partial.unlink(missing_ok=True)
    return session


class OnnxEncoder:
    """Thread-safe: onnxruntime sessions may run concurrently and the tokenizer is not mutated after
    construction."""

    def __init__(self, model_dir: Path, exported: OnnxModel, threads: int = 0):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.exported = exported
        self.max_length = check_pipeline(model_dir)
        tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        padding = tokenizer.padding or {}
        tokenizer.enable_truncation(max_length=self.max_length)
        tokenizer.enable_padding(pad_id=int(padding.get("pad_id", 0)), pad_token=padding.get("pad_token", "[PAD]"),
                                 pad_type_id=int(padding.get("pad_type_id", 0)))  # to the longest of the batch
        self.tokenizer = tokenizer
        options = ort.SessionOptions()
        # spinning worker threads steal a shared core from other processes for no gain in latency
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if threads > 0:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self.session = optimised_session(exported, options)
        self.input_names = tuple(i.name for i in self.session.get_inputs())
        self.dimension = int(exported.dimension)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One forward pass over `texts` (the caller batches); normalised float32 vectors."""
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = self.session.run(None, {n: feeds[n] for n in self.input_names})[0]
        return mean_pool_normalise(hidden, mask)
