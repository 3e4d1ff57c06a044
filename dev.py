#!/usr/bin/env python3
"""Set-up and entry points that need nothing but Python 3.11:

    python3 dev.py app     create .venv if needed, install requirements, run the Streamlit chat
    python3 dev.py test    create .venv if needed, install dev requirements (and Debian's chromium
                           for the browser test, when run as root), run the test suite

Requirements are re-installed only when requirements*.txt change (a stamp file in .venv records them).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(requirements: str) -> None:
    if sys.version_info[:2] < (3, 11):
        sys.exit(f"Letters QA needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    files = [ROOT / "requirements.txt", ROOT / "requirements-scale.txt", ROOT / requirements]  # dev includes scale
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text().strip() == digest:
        return
    print(f"installing {requirements} into .venv (first run takes a few minutes) …", flush=True)
    subprocess.check_call([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    subprocess.check_call([str(PYTHON), "-m", "pip", "install", "-q", "-r", str(ROOT / requirements)])
    stamp.write_text(digest)


def ensure_chromium() -> None:
    """The browser test drives Debian's chromium; install it when we may (root with apt-get)."""
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("installing Debian's chromium for the browser test …", flush=True)
        subprocess.call(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
        subprocess.call(["apt-get", "install", "-y", "-qq", "chromium"], stdout=subprocess.DEVNULL)
    else:
        print("note: chromium not found and cannot be installed here; the browser test will be skipped", flush=True)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", LETTERS_QA_RUN_SLOW="1")
    if command == "app":
        ensure_venv("requirements.txt")
        return subprocess.call([str(PYTHON), "-m", "streamlit", "run", str(ROOT / "app.py"), *argv[1:]], cwd=ROOT, env=env)
    if command == "test":
        ensure_venv("requirements-dev.txt")
        ensure_chromium()
        return subprocess.call([str(PYTHON), "-m", "pytest", *argv[1:]], cwd=ROOT, env=env)
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
