"""OS file locks that keep builders apart and pin the builds readers use (layout: index/store.py).

Both are `flock` locks, so the kernel releases them when the holding process exits or is killed, and
they hold between two file descriptors of the same process too (a build and a reader in one app).

- The build lock: an exclusive flock on INDEX_DIR/.build.lock, holding the builder's pid as text.
- A lease: a shared flock on BUILD/.lease, held by every open IndexReader. Clean-up deletes a build only
  after taking its lease exclusively, and renames the folder away before deleting it, so a reader that
  took its lease late sees that the file it locked is no longer the build's lease and looks again.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path

LOCK_FILE = ".build.lock"
LEASE_FILE = ".lease"
POLL_SECONDS = 0.05


class BuildLocked(RuntimeError):
    """Another process is building this index and did not finish within the wait."""


def lock_holder(index_dir: Path) -> str:
    """The pid written by the process holding the build lock ('unknown' between its lock and its write)."""
    try:
        pid = (Path(index_dir) / LOCK_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        pid = ""
    return pid or "unknown"


@contextlib.contextmanager
def build_lock(index_dir: Path, wait_seconds: float):
    """Hold the build lock of index_dir, waiting up to wait_seconds for another builder to finish."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(0.0, wait_seconds)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                if time.monotonic() >= deadline:
                    raise BuildLocked(
                        f"another build of {index_dir} is running (pid {lock_holder(index_dir)}); waited "
                        f"{wait_seconds:g}s; run the build again when it has finished "
                        f"(LETTERS_QA_BUILD_WAIT sets the wait)") from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


def create_lease_file(build: Path) -> None:
    (Path(build) / LEASE_FILE).write_bytes(b"")


class Lease:
    """A shared lock on one build's lease file: while held, clean-up leaves the build alone."""

    def __init__(self, fd: int):
        self._fd: int | None = fd

    @classmethod
    def take(cls, build: Path) -> "Lease | None":
        """The lease of `build`, or None when the build is gone or being deleted."""
        path = Path(build) / LEASE_FILE
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            opened, now = os.fstat(fd), os.stat(path)
        except OSError:  # locked for deletion, or already renamed away
            os.close(fd)
            return None
        if (opened.st_dev, opened.st_ino) != (now.st_dev, now.st_ino):
            os.close(fd)
            return None
        return cls(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self, _close=os.close) -> None:  # bound early: __del__ may run at interpreter exit
        fd, self._fd = self._fd, None
        if fd is not None:
            _close(fd)

    def __del__(self):
        self.release()


@contextlib.contextmanager
def exclusive_lease(build: Path):
    """Yield True while holding `build`'s lease exclusively (no reader has it), False if a reader does.
    A build without a lease file (an interrupted or foreign folder) counts as free."""
    try:
        fd = os.open(Path(build) / LEASE_FILE, os.O_RDONLY)
    except FileNotFoundError:
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
