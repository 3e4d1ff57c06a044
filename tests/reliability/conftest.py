"""Small indexes made per test (the damage and concurrency cases change them), on the real model."""
from __future__ import annotations

import shutil
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


@pytest.fixture(scope="session")
def town_template(tmp_path_factory):
    """The two town letters and their index, built once; tests change copies of it."""
    from index.building import build_index
    from index.settings import Settings

    root = tmp_path_factory.mktemp("town-template")
    settings = Settings(corpus_dir=write_letters(root / "corpus", TOWN_LETTERS), index_dir=root / "index")
    build_index(settings)
    return settings


@pytest.fixture
def town_index(tmp_path, town_template):
    """Settings of a private copy of the town index (no wait for the build lock). Copies keep file
    times, so the copy is up to date and its integrity record holds."""
    from index.settings import Settings

    shutil.copytree(town_template.corpus_dir, tmp_path / "corpus")
    shutil.copytree(town_template.index_dir, tmp_path / "index")
    return Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", build_wait_seconds=0)


def toggle_extra_letter(settings) -> None:
    """Add the extra letter if absent, remove it if present: the next build changes the index."""
    path = settings.corpus_dir / "harbourside.txt"
    if path.exists():
        path.unlink()
    else:
        write_letters(settings.corpus_dir, {"harbourside.txt": EXTRA_LETTER})


def build_folders(settings) -> list[str]:
    return sorted(p.name for p in settings.index_dir.iterdir() if p.name.startswith(("build-", ".staging-", ".trash-")))


def segment_folders(settings) -> list[str]:
    """Every folder under INDEX_DIR/segments, leftovers included."""
    root = settings.index_dir / "segments"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def listed_segments(settings) -> list[str]:
    """The segments the current build lists."""
    from index.store import read_manifest

    return sorted(s["name"] for s in read_manifest(settings.index_dir)["segments"])


def segment_file(settings, part: str):
    """(path, part as problems name it) of a file of the current build's single segment."""
    (name,) = listed_segments(settings)
    return settings.index_dir / "segments" / name / part, f"segments/{name}/{part}"
