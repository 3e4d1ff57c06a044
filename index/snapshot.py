"""Is the index already up to date? A quick answer from file stats, before the manifest is read.

A build that finds nothing to do should cost about the listing of the corpus; at 10,000 letters,
parsing the 3 MB manifest and comparing every letter's entry cost as much again. So every build that
leaves the index matching the corpus records a snapshot next to CURRENT (INDEX_DIR/corpus-snapshot.json,
a cache outside the builds: the index format does not change, and losing it costs one slower no-op):

  {"build": the build it describes, "manifest": [size, mtime_ns] of that build's manifest.json,
   "settings": sha256 of the build settings and the pipeline code, "listing": sha256 of every
   (source, size, mtime_ns) discover() found plus its skipped and ignored files,
   "racy": {source: sha256} of files modified just before the scan, "report": the no-op's figures,
   "segments": {name: integrity record}}

A build is a no-op without reading the manifest when the listing, settings, current build and its
manifest match, the racy files still have their sha256, and the segments pass the "changed"
integrity check (index/integrity.py). `python -m index build` asks `up_to_date` first, which imports
nothing heavy (no numpy, no models): a no-op costs the listing and a few small files. Like git, a file whose size and mtime_ns are unchanged counts as
unchanged; a file modified within RACY_NS before the scan could be modified again without its mtime
moving, so its content is hashed again each time (git's "racily clean" entries).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from . import __version__, integrity
from .build_report import BuildReport
from .layout import current_build, segments_root
from .loading import Discovery, discover, file_sha256
from .locking import LEASE_FILE, LOCK_FILE, build_lock
from .records import Skipped

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "corpus-snapshot.json"
# FAT's 2 s mtime resolution is the coarsest a corpus folder may have (ext4 and tmpfs tick in
# milliseconds); it also absorbs a small clock difference between this machine and a file server.
RACY_NS = 2_000_000_000
# settings that change how questions are answered, never what a build writes
QUERY_ONLY = frozenset({"k", "fusion", "rrf_k", "overfetch", "name_boost", "use_answer_types", "use_name_matching",
                        "arms", "abstain_threshold", "threads", "build_wait_seconds", "ray_local_cpus",
                        "ray_object_store_mb", "ray_parse_batch"})


@dataclass(frozen=True)
class Snapshot:
    build: str
    manifest: tuple[int, int]  # (size, mtime_ns) of the build's manifest.json
    settings: str
    listing: str
    racy: dict[str, str]  # source -> sha256 of the files hashed again by every check
    report: dict  # {"documents", "chunks", "sentences", "segments", "unreadable": [[source, reason], ...]}
    segments: dict[str, dict]  # segment name -> integrity record

    def to_json(self) -> dict:
        return dict(dataclasses.asdict(self), manifest=list(self.manifest))

    @classmethod
    def from_json(cls, data: dict) -> "Snapshot":
        return cls(str(data["build"]), (int(data["manifest"][0]), int(data["manifest"][1])), str(data["settings"]),
                   str(data["listing"]), dict(data["racy"]), dict(data["report"]), dict(data["segments"]))


def settings_key(settings, pipeline: str) -> str:
    """sha256 of everything that decides what a build writes: every setting but the query-time ones
    (a new setting counts until listed in QUERY_ONLY), both folders resolved, and the pipeline code."""
    fields = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.name not in QUERY_ONLY}
    fields["corpus_dir"] = str(Path(settings.corpus_dir).resolve())
    fields["index_dir"] = str(Path(settings.index_dir).resolve())
    return hashlib.sha256(f"{sorted(fields.items())!r}\0{pipeline}".encode()).hexdigest()


def listing_key(found: Discovery) -> str:
    """sha256 of what discover() found: each file's source, size and mtime_ns, each skipped file's
    reason, the number of ignored files."""
    digest = hashlib.sha256()
    digest.update("".join(f"{f.source}\0{f.size}\0{f.mtime_ns}\n" for f in found.files)
                  .encode("utf-8", "surrogatepass"))
    digest.update("".join(f"\1{s.path}\0{s.reason}\n" for s in found.skipped).encode("utf-8", "surrogatepass"))
    digest.update(f"\2{found.ignored}".encode())
    return digest.hexdigest()


def racy_sources(found: Discovery, scan_started_ns: int) -> list[str]:
    """Files whose mtime is within RACY_NS of the scan's start (or after it)."""
    return [f.source for f in found.files if f.mtime_ns >= scan_started_ns - RACY_NS]


def read_snapshot(index_dir: Path) -> Snapshot | None:
    try:
        return Snapshot.from_json(json.loads((Path(index_dir) / SNAPSHOT_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def write_snapshot(index_dir: Path, snapshot: Snapshot) -> None:
    """Replace the snapshot atomically; a failure only costs the next no-op its shortcut."""
    path = Path(index_dir) / SNAPSHOT_FILE
    partial = path.with_name(f".{SNAPSHOT_FILE}.{os.getpid()}")
    try:
        partial.write_text(json.dumps(snapshot.to_json(), ensure_ascii=False), encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        log.warning("could not record %s (%s); the next no-op build reads the manifest", path, exc)
        partial.unlink(missing_ok=True)


def forget_snapshot(index_dir: Path) -> None:
    (Path(index_dir) / SNAPSHOT_FILE).unlink(missing_ok=True)


def racy_unchanged(found: Discovery, racy: dict[str, str]) -> bool:
    """Whether every racy file still has the sha256 the snapshot recorded."""
    located = {f.source: f.location for f in found.files if f.source in racy}
    try:
        return len(located) == len(racy) and all(file_sha256(located[s]) == sha for s, sha in racy.items())
    except OSError:
        return False


def pipeline_fingerprint() -> str:
    """sha256 of the code that turns a letter's file into text, metadata, sentences, chunks and tokens: an
    incremental build keeps an unchanged letter in its segment only when this code is unchanged
    (vectors are still reused wherever the embedded text is the same)."""
    digest = hashlib.sha256(__version__.encode())
    for name in ("loading.py", "engines.py", "chunking.py", "cleaning.py", "markup.py", "entities.py", "metadata.py", "structure.py",
                 "organisation.py", "organisation_weights.json", "lexical.py", "records.py", "postings.py"):
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


def unchanged_snapshot(index_dir: Path, settings_id: str, found: Discovery) -> Snapshot | None:
    """The snapshot of the current build when nothing it depends on changed, else None."""
    snapshot = read_snapshot(index_dir)
    if snapshot is None or snapshot.settings != settings_id or snapshot.listing != listing_key(found):
        return None
    build = current_build(index_dir)
    if build is None or build.name != snapshot.build or not (build / LEASE_FILE).is_file():
        return None
    try:
        stat = (build / "manifest.json").stat()
    except OSError:
        return None
    if (stat.st_size, stat.st_mtime_ns) != snapshot.manifest:
        return None
    root = segments_root(index_dir)
    if any(integrity.check(root / name, record, "changed") for name, record in snapshot.segments.items()):
        return None
    return snapshot if racy_unchanged(found, snapshot.racy) else None


def noop_report(snapshot: Snapshot, found: Discovery) -> BuildReport:
    """The no-op's report: the snapshot's figures, discover's skipped files, then the unreadable ones."""
    figures = snapshot.report
    skipped = list(found.skipped) + [Skipped(source, reason) for source, reason in figures["unreadable"]]
    return BuildReport(documents=figures["documents"], chunks=figures["chunks"], sentences=figures["sentences"],
                       skipped=skipped, ignored=found.ignored, noop=True, segments=figures["segments"])


def up_to_date(settings) -> BuildReport | None:
    """The no-op report when the snapshot says the index matches the corpus and an earlier build left
    nothing to clean up, else None (then index.building.build_index does the work). Takes the build
    lock as a build does."""
    started = time.perf_counter()
    index_dir = Path(settings.index_dir)
    if not (index_dir / SNAPSHOT_FILE).is_file():
        return None
    with build_lock(index_dir, settings.build_wait_seconds):
        found = discover(settings.corpus_dir, settings.max_file_bytes)
        snapshot = unchanged_snapshot(index_dir, settings_key(settings, pipeline_fingerprint()), found)
        if snapshot is None or not _tidy(index_dir, snapshot):
            return None
    report = noop_report(snapshot, found)
    report.index_path = str(index_dir)
    report.seconds = time.perf_counter() - started
    return report


def _tidy(index_dir: Path, snapshot: Snapshot) -> bool:
    """Whether the index folder holds only the current build, its segments and the files every index
    has (anything else is for index.store.collect_garbage to look at)."""
    try:
        expected = {"CURRENT", LOCK_FILE, SNAPSHOT_FILE, snapshot.build, segments_root(index_dir).name}
        return (set(os.listdir(index_dir)) <= expected
                and set(os.listdir(segments_root(index_dir))) <= set(snapshot.segments))
    except OSError:
        return False
