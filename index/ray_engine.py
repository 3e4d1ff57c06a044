"""The build's parse and embed stages as Ray Data `map_batches` stages (`--engine ray`).

Ray (requirements-scale.txt) is joined at `ray_address`, or started locally with settings.ray_local_cpus
CPUs, no dashboard and quiet logs, on first use (an up-to-date index never starts it). The stages run
index.engines' own functions, so a letter parsed on the cluster is the letter a local build makes:
  parse:  batches of file paths -> AnalysedLetter | Skipped (tasks; a file must be readable at the same
          path on every node, e.g. a shared folder)
  embed:  batches of texts -> vectors (one actor per CPU, each loading the model once, offline)
Results come back tagged with their input row and are put back in input order. The project's `index`
package is shipped to the workers (runtime_env py_modules); the model and spaCy packages must be
installed on every node (pip install -r requirements.txt -r requirements-scale.txt).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from .embedding import Embedder
from .engines import ParseResult, Progress, parse_files
from .loading import CorpusFile
from .settings import Settings

log = logging.getLogger(__name__)
# the model and the tokenizers are read from the installed packages, never fetched; quiet libraries
WORKER_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
              "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error", "OMP_WAIT_POLICY": "PASSIVE"}


class RayUnavailable(RuntimeError):
    pass


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise RayUnavailable("--engine ray needs Ray Data: pip install -r requirements-scale.txt") from None
    return ray


def _parse_batch(batch: dict, settings: Settings) -> dict:
    files = [CorpusFile(Path(p), s, f, int(n), int(m)) for p, s, f, n, m in
             zip(batch["path"], batch["source"], batch["format"], batch["size"], batch["mtime_ns"])]
    results = parse_files(files, settings)
    return {"row": batch["row"], "result": _objects(results)}


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)  # element by element: numpy would unpack dataclass tuples
    for i, value in enumerate(values):
        out[i] = value
    return out


def _embed_stage(settings: Settings):
    """A Ray Data actor class: the model loaded once per actor, then one forward pass per batch. The settings
    travel inside the class (not as constructor arguments, which Ray would keep in the object store)."""

    class EmbedBatch:
        def __init__(self):
            self.embedder = Embedder.for_settings(settings)

        def __call__(self, batch: dict) -> dict:
            return {"row": batch["row"], "vector": self.embedder.encode(list(batch["text"]))}

    return EmbedBatch


class RayEngine:
    name = "ray"

    def __init__(self, settings: Settings, address: str | None = None):
        self.settings = settings
        self.address = address
        self._ray = _ray()  # fail before any work when Ray is not installed
        self._started = False

    def _start(self):
        ray = self._ray
        if not ray.is_initialized():
            import index

            os.environ.setdefault("RAY_ACCEPT_LOCAL_CLUSTER", "1")
            runtime_env = {"env_vars": WORKER_ENV, "py_modules": [str(Path(index.__file__).parent)]}
            quiet = dict(logging_level=logging.ERROR, log_to_driver=False, runtime_env=runtime_env)
            if self.address:
                ray.init(address=self.address, **quiet)
            else:
                ray.init(num_cpus=self.settings.ray_local_cpus, include_dashboard=False,
                         object_store_memory=self.settings.ray_object_store_mb * 1024 * 1024, **quiet)
            self._started = True
        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        return ray

    def workers(self) -> int:
        """Embedding actors: one per CPU of the cluster."""
        cpus = int(self._start().cluster_resources().get("CPU", 1))
        return max(1, cpus)

    def parse(self, files: Sequence[CorpusFile], progress: Progress | None = None) -> list[ParseResult]:
        if not files:
            return []
        ray = self._start()
        items = [{"row": i, "path": str(Path(f.path).resolve()), "source": f.source, "format": f.format,
                  "size": f.size, "mtime_ns": f.mtime_ns} for i, f in enumerate(files)]
        batch = self.settings.ray_parse_batch
        dataset = ray.data.from_items(items, override_num_blocks=max(1, -(-len(items) // batch)))
        dataset = dataset.map_batches(_parse_batch, fn_kwargs={"settings": self.settings}, batch_size=batch,
                                      batch_format="numpy", num_cpus=1)
        out: list[ParseResult | None] = [None] * len(files)
        done = 0
        for part in dataset.iter_batches(batch_format="numpy", batch_size=None):
            for row, result in zip(part["row"], part["result"]):
                out[int(row)] = result
            done += len(part["row"])
            if progress:
                progress("reading", done, len(files))
        if progress:
            progress("chunking", len(files), len(files))
        return out  # type: ignore[return-value]

    def embed(self, texts: Sequence[str], progress: Progress | None = None,
              show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        dimension = Embedder.for_settings(self.settings).dimension  # exports/loads the model here first
        if not texts:
            return np.zeros((0, dimension), np.float32)
        ray = self._start()
        # longest first, so that a batch holds texts of similar length (less padding), as Embedder.encode does
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        items = [{"row": i, "text": texts[i]} for i in order]
        batch = self.settings.batch_size
        blocks = max(1, min(-(-len(items) // batch), self.workers() * 4))
        dataset = ray.data.from_items(items, override_num_blocks=blocks)
        actors = ray.data.ActorPoolStrategy(min_size=1, max_size=self.workers())
        dataset = dataset.map_batches(_embed_stage(self.settings.replace(threads=1)), batch_size=batch,
                                      batch_format="numpy", compute=actors, num_cpus=1)
        out = np.zeros((len(texts), dimension), np.float32)
        done = 0
        for part in dataset.iter_batches(batch_format="numpy", batch_size=None):
            out[part["row"].astype(np.int64)] = part["vector"]
            done += len(part["row"])
            if progress:
                progress("embedding", done, len(texts))
        return out

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False
