"""Shared fixtures: the real model and real indexes, built once per test session.

Tests marked `slow` (a second model, ONNX exports, the benchmark smoke runs) run when CI is set,
with `--run-slow`, or with LETTERS_QA_RUN_SLOW=1 — `python3 dev.py test` (the README's command,
which CI runs) sets it; a bare `python -m pytest` is the quick loop and skips them."""
from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow") or os.environ.get("CI") or os.environ.get("LETTERS_QA_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: runs in CI, with --run-slow or LETTERS_QA_RUN_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
SHIPPED = ROOT / "corpus"


def write_letters(folder: Path, letters: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in letters.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return folder


def built(corpus: Path):
    """Settings for an index of `corpus` (in a sibling folder), built."""
    from index.building import build_index
    from index.settings import Settings

    settings = Settings(corpus_dir=corpus, index_dir=corpus.parent / "index")
    build_index(settings)
    return settings


@pytest.fixture(scope="session")
def shipped_settings(tmp_path_factory):
    """Settings for an index of a copy of the shipped letters, built once."""
    corpus = tmp_path_factory.mktemp("shipped") / "corpus"
    shutil.copytree(SHIPPED, corpus)
    return built(corpus)


@pytest.fixture(scope="session")
def assistant(shipped_settings):
    from retrieval import Assistant

    return Assistant.load(settings=shipped_settings)


TOWN_LETTERS = {
    "riverton.txt": """
        Jane Holloway
        Police and Crime Commissioner for Riverton

        12th March 2021

        Dear Chief Inspector,

        Re: Inspection of custody services

        Thank you for the report on custody services in Riverton.

        The Riverton Custody Fund offers grants of up to £25,000 to community projects that support detainees after release.
        Since January 2020, 14 custody officers have completed mental health training with the Riverton Mind Partnership.
        The independent custody visiting scheme is chaired by the Riverton Community Safety Board.

        Yours sincerely

        Jane Holloway
        Police and Crime Commissioner for Riverton
        """,
    "lowmoor.txt": """
        Our ref: LM/OPCC/22

        3 November 2019

        Dear Home Secretary,

        Inspection of roads policing

        Lowmoor Police have recruited 30 additional roads policing officers this year.
        A speed awareness pilot ran in Easthaven during the summer of 2019 and reduced collisions near schools.
        The Road Safety Partnership meets every quarter at Lowmoor Town Hall, 4 Market Street, Lowmoor LM1 2AB.

        Yours faithfully

        Peter Okafor
        Deputy Mayor for Policing in Lowmoor
        """,
}


@pytest.fixture(scope="session")
def town_settings(tmp_path_factory):
    """Two made-up letters in other layouts, indexed once."""
    return built(write_letters(tmp_path_factory.mktemp("towns") / "corpus", TOWN_LETTERS))


@pytest.fixture(scope="session")
def town_assistant(town_settings):
    from retrieval import Assistant

    return Assistant.load(settings=town_settings)
