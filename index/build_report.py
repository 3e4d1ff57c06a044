"""What a build did, as `python -m index build` prints it (light: the quick no-op path uses it too)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .records import Skipped


@dataclass
class BuildReport:
    documents: int = 0
    chunks: int = 0
    sentences: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    ignored: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    embedded: int = 0
    reused_vectors: int = 0
    noop: bool = False
    repaired: list[str] = field(default_factory=list)  # damaged parts of the previous build, rewritten
    segments: int = 0  # segments of the index afterwards
    segments_before: int = 0  # (optimize only)
    merge_seconds: float = 0.0  # of the seconds, merging small segments after the swap
    seconds: float = 0.0
    index_path: str = ""

    def summary(self) -> str:
        repaired = f"; repaired damaged {', '.join(self.repaired)}" if self.repaired else ""
        if self.noop:
            return (f"index up to date: {self.documents} documents, {self.chunks} chunks "
                    f"({len(self.skipped)} skipped, {self.ignored} ignored) in {self.seconds:.2f}s")
        return (f"indexed {self.documents} documents, {self.chunks} chunks, {self.sentences} sentences "
                f"(+{len(self.added)} added, ~{len(self.changed)} changed, -{len(self.removed)} removed; "
                f"{self.embedded} texts embedded, {self.reused_vectors} reused; {len(self.skipped)} skipped, "
                f"{self.ignored} ignored){repaired}; {self.segments} segment{'s' if self.segments != 1 else ''} "
                f"in {self.seconds:.1f}s")
