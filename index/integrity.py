"""The integrity record of a build (manifest["integrity"]) and the checks against it.

    {"table.sqlite": {"size": 81920, "sha256": "…", "mtime_ns": 1763900000000000000}, "bm25/params.index.json": …}

Three depths, from cheap to thorough:
  "stat"    every recorded file present with its recorded size (each load; a few stat calls)
  "changed" "stat", plus the sha256 of every file whose mtime differs from the record (each build: a file
            rewritten in place, e.g. zero-filled, gets a new mtime, so no-op builds stay cheap)
  "full"    the sha256 of every file (`python -m index verify`)
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .locking import LEASE_FILE

Depth = Literal["stat", "changed", "full"]
NOT_RECORDED = frozenset({"manifest.json", LEASE_FILE})  # the manifest holds the record; the lease is empty
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One damaged file of a build; `part` is its path relative to the build folder."""

    part: str
    reason: str

    def line(self, build: Path) -> str:
        return f"damaged {Path(build) / self.part}: {self.reason}"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def record(build: Path) -> dict[str, dict]:
    """Size, sha256 and mtime of every file under build (paths relative, '/'-separated, sorted)."""
    build = Path(build)
    out = {}
    for path in sorted(p for p in build.rglob("*") if p.is_file()):
        part = path.relative_to(build).as_posix()
        if part in NOT_RECORDED:
            continue
        stat = path.stat()
        out[part] = {"size": stat.st_size, "sha256": file_digest(path), "mtime_ns": stat.st_mtime_ns}
    return out


def check(build: Path, integrity: dict[str, dict] | None, depth: Depth = "stat") -> list[Problem]:
    """The damaged files of a build, judged against its integrity record (none recorded: one problem)."""
    build = Path(build)
    if not integrity:
        return [Problem("manifest.json", "no integrity record")]
    problems = []
    for part, expected in integrity.items():
        path = build / part
        try:
            stat = path.stat()
        except FileNotFoundError:
            problems.append(Problem(part, "missing"))
            continue
        except OSError as exc:
            problems.append(Problem(part, f"unreadable ({exc.strerror})"))
            continue
        if stat.st_size != expected["size"]:
            problems.append(Problem(part, f"{stat.st_size} bytes, expected {expected['size']}"))
            continue
        hash_it = depth == "full" or (depth == "changed" and stat.st_mtime_ns != expected.get("mtime_ns"))
        if hash_it:
            try:
                digest = file_digest(path)
            except OSError as exc:
                problems.append(Problem(part, f"unreadable ({exc.strerror})"))
                continue
            if digest != expected["sha256"]:
                problems.append(Problem(part, "content differs from the sha256 recorded when it was built"))
    return problems
