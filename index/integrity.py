"""The integrity record of a segment (manifest["segments"][i]["integrity"]) and the checks against it.

    {"table.sqlite": {"size": 81920, "sha256": "…", "mtime_ns": 1763900000000000000}, "bm25/params.index.json": …}

Three depths, from cheap to thorough:
  "stat"    every recorded file present with its recorded size (each load; a few stat calls)
  "changed" "stat", plus the sha256 of every file whose mtime differs from the record (each build: a file
            rewritten in place, e.g. zero-filled, gets a new mtime, so no-op builds stay cheap)
  "full"    the sha256 of every file (`python -m index verify`)
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .locking import LEASE_FILE

Depth = Literal["stat", "changed", "full"]
NOT_RECORDED = frozenset({"manifest.json", LEASE_FILE})  # the manifest holds the record; the lease is empty
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One damaged file; `part` is its path relative to the folder checked (store.inspect makes it
    relative to the index folder)."""

    part: str
    reason: str

    def line(self, root: Path) -> str:
        return f"damaged {Path(root) / self.part}: {self.reason}"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def digests(paths: list[Path]) -> list[str]:
    """sha256 of each file, on all cores (hashlib releases the GIL: a 1.6 GB build hashes in ~2.5 s
    on this 2-core machine instead of ~5 s)."""
    if len(paths) < 2:
        return [file_digest(p) for p in paths]
    with ThreadPoolExecutor(max_workers=min(len(paths), os.cpu_count() or 1)) as pool:
        return list(pool.map(file_digest, paths))


def record(build: Path) -> dict[str, dict]:
    """Size, sha256 and mtime of every file under build (paths relative, '/'-separated, sorted)."""
    build = Path(build)
    paths = [p for p in sorted(build.rglob("*"))
             if p.is_file() and p.relative_to(build).as_posix() not in NOT_RECORDED]
    out = {}
    for path, digest in zip(paths, digests(paths)):
        stat = path.stat()
        out[path.relative_to(build).as_posix()] = {"size": stat.st_size, "sha256": digest,
                                                   "mtime_ns": stat.st_mtime_ns}
    return out


def check(build: Path, integrity: dict[str, dict] | None, depth: Depth = "stat") -> list[Problem]:
    """The damaged files of a build, judged against its integrity record (none recorded: one problem)."""
    build = Path(build)
    if not integrity:
        return [Problem("manifest.json", "no integrity record")]
    problems, to_hash = [], []
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
        elif depth == "full" or (depth == "changed" and stat.st_mtime_ns != expected.get("mtime_ns")):
            to_hash.append(part)
    try:
        found = digests([build / part for part in to_hash])
    except OSError as exc:  # vanished or unreadable between stat and read
        failed = Path(exc.filename).relative_to(build).as_posix() if exc.filename else "?"
        return problems + [Problem(failed, f"unreadable ({exc.strerror})")]
    problems += [Problem(part, "content differs from the sha256 recorded when it was built")
                 for part, digest in zip(to_hash, found) if digest != integrity[part]["sha256"]]
    return sorted(problems, key=lambda p: list(integrity).index(p.part) if p.part in integrity else -1)
