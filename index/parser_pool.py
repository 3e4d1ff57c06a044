"""Run the PDF and Word parsers in a worker process with a time limit and a memory limit.

A hostile file (a PDF whose streams inflate to gigabytes, a parser stuck in a loop) costs at most the
time limit and kills only the worker: the build skips that file and goes on. One worker is reused
across files (started once, ~0.3 s with its imports), so a large build pays only the pipe transfer
per file.

The worker is a plain `python` subprocess (not multiprocessing: no re-import of the caller's main
script, no inherited threads) that limits its own address space with RLIMIT_AS, so a runaway
allocation raises MemoryError there, never in the builder. It speaks a small framed protocol on its
stdin/stdout — a JSON header line, then raw bytes — and never pickle: a parser subverted by a
crafted file cannot hand the builder code to run.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
OK, UNREADABLE, MEMORY, ERROR = "ok", "unreadable", "memory", "error"


class ParseFailed(Exception):
    """The worker could not parse a file; the message is the reason shown to the user."""


# --- the worker side ---------------------------------------------------------------------------------
def _read_exact(stream, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _send(stream, status: str, value: Any) -> None:
    payload = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    stream.write(json.dumps({"status": status, "size": len(payload)}).encode() + b"\n" + payload)
    stream.flush()


def serve(memory_bytes: int) -> None:
    """Worker loop: read {"parser", "size"} + bytes, reply {"status", "size"} + JSON value."""
    import resource

    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    from .loading import PARSERS, Unreadable

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = stdin.readline()
        if not header:
            return
        request = json.loads(header)
        data = _read_exact(stdin, int(request["size"]))
        try:
            status, value = OK, PARSERS[request["parser"]](data)
        except Unreadable as exc:
            status, value = UNREADABLE, str(exc)
        except MemoryError:
            status, value = MEMORY, ""
        except Exception as exc:  # a parser bug must not take the worker down
            status, value = ERROR, f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        data = None
        try:
            _send(stdout, status, value)
        except MemoryError:
            _send(stdout, MEMORY, "")


# --- the builder side --------------------------------------------------------------------------------
class ParserPool:
    """One reusable worker process; calls are serialised (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._memory_bytes: int | None = None

    def _start(self, memory_bytes: int) -> None:
        code = f"import sys; sys.path.insert(0, {str(PROJECT_ROOT)!r}); from index.parser_pool import serve; serve({memory_bytes})"
        self._process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, cwd=str(PROJECT_ROOT))
        self._memory_bytes = memory_bytes

    def _stop(self) -> None:
        process, self._process, self._memory_bytes = self._process, None, None
        if process is not None:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
            for stream in (process.stdin, process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass

    def close(self) -> None:
        with self._lock:
            self._stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def _read(self, size: int, deadline: float) -> bytes:
        """`size` bytes (or a line when size < 0) from the worker before `deadline`; TimeoutError else."""
        fd = self._process.stdout.fileno()
        chunks, have = [], 0
        while True:
            if size < 0 and chunks and chunks[-1].endswith(b"\n"):
                return b"".join(chunks)
            if size >= 0 and have >= size:
                return b"".join(chunks)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, 1 if size < 0 else min(size - have, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            have += len(chunk)

    def run(self, parser: str, data: bytes, seconds: float, memory_mb: float) -> Any:
        """PARSERS[parser](data) in the worker, as JSON (tuples come back as lists); raises
        ParseFailed with a one-line reason (the parser's own reason when it refused the file)."""
        memory_bytes = int(memory_mb * 1024 * 1024)
        with self._lock:
            if self._process is None or self._process.poll() is not None or self._memory_bytes != memory_bytes:
                self._stop()
                self._start(memory_bytes)
            deadline = time.monotonic() + seconds
            try:
                self._process.stdin.write(json.dumps({"parser": parser, "size": len(data)}).encode() + b"\n")
                self._process.stdin.write(data)
                self._process.stdin.flush()
                header = json.loads(self._read(-1, deadline))
                value = json.loads(self._read(int(header["size"]), deadline).decode("utf-8", "surrogatepass"))
                status = header["status"]
            except TimeoutError:
                self._stop()
                raise ParseFailed(f"parsing took longer than {seconds:g} s (limit); file not read") from None
            except (EOFError, OSError, ValueError, KeyError):
                self._stop()
                raise ParseFailed(f"the parser crashed (memory limit {memory_mb:g} MB or a bad file)") from None
        if status == OK:
            return value
        if status == UNREADABLE:
            raise ParseFailed(value)
        if status == MEMORY:
            raise ParseFailed(f"parsing needs more than the {memory_mb:g} MB memory limit; file not read")
        raise ParseFailed(f"the parser failed ({value})")


_pool = ParserPool()
atexit.register(_pool.close)


def run_parser(parser: str, data: bytes, seconds: float, memory_mb: float) -> Any:
    if os.name != "posix":  # no RLIMIT_AS nor select() on pipes: parse here, without the limits
        from .loading import PARSERS, Unreadable

        try:
            return PARSERS[parser](data)
        except Unreadable as exc:
            raise ParseFailed(str(exc)) from None
    return _pool.run(parser, data, seconds, memory_mb)


def close_pool() -> None:
    """Stop the worker (it restarts on the next call)."""
    _pool.close()
