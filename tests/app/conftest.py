"""App test fixtures: every AppTest runs on a tmp copy of the corpus and a tmp index (env vars),
so nothing is written into the repository's corpus or index."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
SHIPPED = ROOT / "corpus"
WY = "west-yorkshire-pcc-2020-06-19-prevent-response.txt"
GMCA = "gmca-2020-05-04-prevent-response.txt"
SCF_QUESTION = "What grants does the Safer Communities Fund offer?"


@pytest.fixture(scope="session")
def prebuilt(shipped_settings):
    """The session's shipped corpus copy and its index (tests/conftest.py), built once; tests copy both
    (mtimes kept, so nothing re-embeds)."""
    base = shipped_settings.corpus_dir.parent
    assert shipped_settings.index_dir == base / "index"
    return base


@pytest.fixture
def app_env(prebuilt, tmp_path, monkeypatch):
    """LETTERS_QA_CORPUS / LETTERS_QA_INDEX pointing at this test's own copies."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(prebuilt / "corpus", corpus)
    shutil.copytree(prebuilt / "index", index)
    monkeypatch.setenv("LETTERS_QA_CORPUS", str(corpus))
    monkeypatch.setenv("LETTERS_QA_INDEX", str(index))
    return corpus, index


def new_app(timeout: float = 120):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=timeout)


def all_text(at) -> str:
    """Every markdown, caption, warning, error, success and info text on the page."""
    parts = []
    for kind in ("markdown", "caption", "warning", "error", "success", "info"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)
