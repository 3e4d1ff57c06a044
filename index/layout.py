"""The names every part of the index folder is found by (light on purpose: the quick no-op check,
index.snapshot, reads them without importing the index's readers and writers):

    INDEX_DIR/CURRENT     the name of the live build (index.store replaces it atomically)
    INDEX_DIR/segments/   the segments (index.segments)
"""
from __future__ import annotations

from pathlib import Path

SEGMENTS_DIR = "segments"


def segments_root(index_dir: Path) -> Path:
    return Path(index_dir) / SEGMENTS_DIR


def current_name(index_dir: Path) -> str | None:
    try:
        return (Path(index_dir) / "CURRENT").read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def current_build(index_dir: Path) -> Path | None:
    name = current_name(index_dir)
    build = Path(index_dir) / name if name else None
    return build if build is not None and build.is_dir() else None
