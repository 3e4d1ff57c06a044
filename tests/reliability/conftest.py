"""Small indexes made per test (the damage and concurrency cases change them), on the real model."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, TOWN_LETTERS, write_letters

EXTRA_LETTER = """
    Dear Commissioner,

    The Harbourside Youth Fund paid for 12 weekend boxing clubs in Northgate during 2022.
    Attendance rose to 340 young people by December.

    Yours sincerely

    Amira Patel
    Chair of the Harbourside Community Trust
    """


def run_module(module: str, *args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture
def town_index(tmp_path):
    """Settings of a freshly built index over the two town letters (no wait for the build lock)."""
    from index.building import build_index
    from index.settings import Settings

    corpus = write_letters(tmp_path / "corpus", TOWN_LETTERS)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", build_wait_seconds=0)
    build_index(settings)
    return settings


def toggle_extra_letter(settings) -> None:
    """Add the extra letter if absent, remove it if present: the next build changes the index."""
    path = settings.corpus_dir / "harbourside.txt"
    if path.exists():
        path.unlink()
    else:
        write_letters(settings.corpus_dir, {"harbourside.txt": EXTRA_LETTER})


def build_folders(settings) -> list[str]:
    return sorted(p.name for p in settings.index_dir.iterdir() if p.name.startswith(("build-", ".staging-", ".trash-")))
