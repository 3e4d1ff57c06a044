"""Process-wide resources: the loaded Assistant (one per index folder, following rebuilds), opened in the
background as the server starts (`preload`), index building with a progress bar that moves per embedding
batch, and start-up shown as visible steps."""
from __future__ import annotations

import logging
import sys
import threading
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st

from index.settings import Settings

log = logging.getLogger(__name__)
_BUILD_LOCK = threading.Lock()  # one build at a time per process, whatever the sessions do
# While the preload runs, the thread serving the page (its ~110 script files, then the session's
# messages) waits for the GIL up to this long at every step, instead of Python's default 5 ms: with a
# busy background thread, 60 of the page's files took 1.5 s to serve at 5 ms and 0.4-0.7 s at 0.5 ms
# (0.26 s with no background work). A chosen figure, not a fitted one: shorter hands the GIL over more
# often for no visible gain.
PRELOAD_SWITCH_INTERVAL_S = 0.0005
_OPENED: set[tuple[str, str]] = set()  # (index folder, build) whose Assistant this process has opened
STAGES = {"reading": (0.0, 0.15, "Reading the letters"), "chunking": (0.15, 0.25, "Splitting them into passages"),
          "embedding": (0.25, 1.0, "Reading passages for meaning")}


def settings() -> Settings:
    return Settings.from_env()


def build_name(s: Settings) -> str | None:
    from index.store import current_build

    build = current_build(Path(s.index_dir))
    return build.name if build is not None else None


@st.cache_resource(max_entries=2, show_spinner=False)
def _load(index_dir: str, corpus_dir: str):
    """The Assistant of one index folder; it moves itself to a new build after a rebuild (`current()`),
    so an old build is released as soon as no page still uses it."""
    from retrieval import Assistant

    s = Settings.from_env().replace(index_dir=index_dir, corpus_dir=corpus_dir)
    return Assistant.load(settings=s)


def assistant(s: Settings):
    """The cached Assistant for the current build (raises IndexUnavailable when there is none)."""
    from index.store import IndexUnavailable

    name = build_name(s)
    if name is None:
        raise IndexUnavailable("there is no index yet")
    index_dir = str(Path(s.index_dir).resolve())
    found = _load(index_dir, str(Path(s.corpus_dir).resolve())).current()
    _OPENED.add((index_dir, found.reader.build.name))
    return found


def is_open(s: Settings, name: str) -> bool:
    """Whether this process has already opened build `name` of the index (the preload, or an earlier
    session), so that a new session gets it at once, without start-up steps."""
    return (str(Path(s.index_dir).resolve()), name) in _OPENED


def load_model(s: Settings) -> None:
    """Load the embedding model the Assistant asks with (once per process): the ONNX export through
    onnxruntime by default, so starting the app never imports torch."""
    from index.embedding import Embedder

    Embedder.for_settings(s).model


@asynccontextmanager
async def preload(_app):
    """The served app's lifespan: open the model and the index in a background thread, so the server
    answers at once and the first session finds them loaded (or waits for the load under way: the
    cached resource computes once). The thread dies with the server."""
    _skip_direct_run_check()
    threading.Thread(target=_warm_up_beside_the_server, name="letters-qa-preload", daemon=True).start()
    yield


def _warm_up_beside_the_server() -> None:
    """warm_up(), handing the GIL to the threads serving the browser often while it runs."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, PRELOAD_SWITCH_INTERVAL_S))
    try:
        warm_up()
    finally:
        sys.setswitchinterval(previous)


def warm_up(s: Settings | None = None) -> None:
    """Import the pages, load what the first question needs, then ask a warm-up question; with no index
    yet, only the imports (the page builds the first index itself, with visible steps). A failure is
    only logged: the page meets it again and says what is wrong."""
    try:
        from app_support import benchmark_page, chat_page  # noqa: F401  (most of a first run's imports)

        s = s or settings()
        if build_name(s) is None:
            return
        load_model(s)
        ready = assistant(s)
        chat_page.letter_names(ready)
    except Exception:
        log.warning("could not open the index ahead of the first session", exc_info=True)
        return
    try:
        ready.warm_up()
    except Exception:  # e.g. letters in another language refuse the question: the first one runs cold
        log.warning("the warm-up question failed (the first question will take longer)", exc_info=True)


def _skip_direct_run_check() -> None:
    """At the first element a page draws, Streamlit checks once per process whether the script was
    started with `python script.py` or in a REPL, to print a hint: inspect.stack() over every loaded
    module, 0.4 s of CPU measured here, on the first session's path. A served app was started with
    `streamlit run`, so the check is marked done (a private flag: nothing happens if Streamlit drops it)."""
    from streamlit import delta_generator

    if hasattr(delta_generator, "_use_warning_has_been_displayed"):
        delta_generator._use_warning_has_been_displayed = True


def build(s: Settings, label: str = "Indexing the letters", where=None):
    """build_index with a visible progress bar (moving per embedding batch); returns the BuildReport
    (raises NothingToIndex). The bar disappears when the build is done."""
    from index.building import build_index

    bar = (where or st).progress(0.0, text=f"{label}…")
    seen = st.session_state.setdefault("build_progress", [])  # what the bar showed (for tests)
    seen.clear()

    def progress(stage: str, done: int, total: int) -> None:
        seen.append((stage, done, total))
        low, high, text = STAGES.get(stage, (0.0, 1.0, stage))
        fraction = low + (high - low) * (done / total if total else 1.0)
        bar.progress(min(1.0, max(0.0, fraction)), text=f"{label}: {text} ({done:,} of {total:,})")

    with _BUILD_LOCK:
        try:
            report = build_index(s, progress=progress)
        finally:
            bar.empty()
    return report


def plain_summary(report, corpus_dir: Path) -> tuple[str, list[str]]:
    """What a build did, in words a reader uses, and its skipped lines without server paths."""
    letters = f"{report.documents} letter{'s' if report.documents != 1 else ''}"
    if report.noop:
        summary = f"Nothing new to index; {letters} in the index."
    else:
        changes = [f"{len(v)} {word}" for v, word in ((report.added, "added"), (report.changed, "updated"),
                                                       (report.removed, "removed")) if v]
        summary = f"{letters} indexed" + (f" ({', '.join(changes)})" if changes else "") + "."
    return summary, [hide_paths(s.line(), corpus_dir) for s in report.skipped]


def hide_paths(text: str, *folders: Path | str) -> str:
    """`text` with the given server folders left out (paths shown relative to them)."""
    for folder in folders:
        for form in {str(folder), str(Path(folder).resolve())}:
            text = text.replace(form.rstrip("/") + "/", "").replace(form, "the letters folder")
    return text
