"""Process-wide resources: the loaded Assistant (cached per index build) and index building."""
from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from index.settings import Settings
from index.store import current_build

_BUILD_LOCK = threading.Lock()  # one build at a time per process, whatever the sessions do


def settings() -> Settings:
    return Settings.from_env()


def build_name(s: Settings) -> str | None:
    build = current_build(Path(s.index_dir))
    return build.name if build is not None else None


@st.cache_resource(max_entries=4, show_spinner="Loading the model and the index…")
def _load(index_dir: str, corpus_dir: str, build: str):
    """The Assistant for one build of one index; a new build gives a new cache key."""
    from retrieval import Assistant

    s = Settings.from_env().replace(index_dir=index_dir, corpus_dir=corpus_dir)
    return Assistant.load(settings=s)


def assistant(s: Settings):
    """The cached Assistant for the current build (raises IndexUnavailable when there is none)."""
    from index.store import IndexUnavailable

    name = build_name(s)
    if name is None:
        raise IndexUnavailable(f"no index at {s.index_dir}")
    return _load(str(Path(s.index_dir).resolve()), str(Path(s.corpus_dir).resolve()), name)


def build(s: Settings, label: str = "Indexing the letters"):
    """build_index with a visible st.progress bar; returns the BuildReport (raises NothingToIndex)."""
    from index.building import build_index

    stages = {"reading": (0.0, 0.2, "Reading letters"), "chunking": (0.2, 0.3, "Splitting into passages"),
              "embedding": (0.3, 1.0, "Embedding passages")}
    bar = st.progress(0.0, text=f"{label}…")
    seen = st.session_state.setdefault("build_progress", [])  # what the bar showed (for tests)
    seen.clear()

    def progress(stage: str, done: int, total: int) -> None:
        seen.append((stage, done, total))
        low, high, text = stages.get(stage, (0.0, 1.0, stage))
        fraction = low + (high - low) * (done / total if total else 1.0)
        bar.progress(min(1.0, max(0.0, fraction)), text=f"{label}: {text} ({done}/{total})")

    with _BUILD_LOCK:
        try:
            report = build_index(s, progress=progress)
        finally:
            bar.empty()
    return report
