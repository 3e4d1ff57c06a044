"""A build says what it did, not how bm25s works inside."""
from __future__ import annotations

import logging

from index.building import build_index
from tests.reliability.conftest import toggle_extra_letter


def test_a_build_emits_no_bm25s_debug_records(town_index, caplog):
    toggle_extra_letter(town_index)
    with caplog.at_level(logging.DEBUG):  # the root logger as verbose as it gets
        build_index(town_index)
    assert not [r for r in caplog.records if r.name.startswith("bm25s") and r.levelno < logging.WARNING]
