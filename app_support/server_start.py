"""What Streamlit does once as its server starts and this app does not need to pay for on every restart.

As the runtime is created, before the server answers at all, Streamlit scans the metadata of every
installed distribution for custom components (118 packages here: 0.25 s of CPU, 0.3–0.6 s of wall time
on a shared machine). The answer only changes when packages are installed or removed, so an empty
result is remembered under a fingerprint of the package folders (their entries and modification
times); the next start with the same packages skips the scan. A scan that finds components is never
skipped, and anything unexpected (another Streamlit version, an unwritable cache) just scans.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def packages_fingerprint(paths: list[str] | None = None) -> str:
    """A digest of the import path's package folders (those holding *.dist-info / *.egg-info entries):
    their entries and modification times (a folder's changes when a package is installed, upgraded or
    removed). Other folders on the path (the app's own, which changes as it is edited) do not count."""
    digest = hashlib.sha256()
    for entry in sys.path if paths is None else paths:
        try:
            names = sorted(e.name for e in os.scandir(entry or ".") if e.name.endswith((".dist-info", ".egg-info")))
            modified = os.stat(entry or ".").st_mtime_ns
        except (NotADirectoryError, FileNotFoundError, PermissionError):
            continue  # a zip file or a missing folder on sys.path holds no installed distribution we scan
        if names:
            digest.update(f"{entry}\0{modified}\0{'/'.join(names)}\n".encode())
    return digest.hexdigest()[:32]


def no_components_marker(cache_dir: Path, fingerprint: str) -> Path:
    return cache_dir / "streamlit-components" / f"none-{fingerprint}"


def remember_empty_component_scan(cache_dir: Path) -> bool:
    """Wrap Streamlit's component scan so that an empty result is remembered for these packages;
    False (and nothing changed) when this Streamlit has no such scan."""
    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:
        return False
    scan = getattr(manifest_scanner, "scan_component_manifests", None)
    if scan is None or getattr(scan, "remembers_empty", False):
        return scan is not None

    def scan_component_manifests(*args, **kwargs):
        marker = no_components_marker(cache_dir, packages_fingerprint())
        if marker.is_file():
            return []
        found = scan(*args, **kwargs)
        if not found:
            try:
                marker.parent.mkdir(parents=True, exist_ok=True)
                for older in marker.parent.glob("none-*"):  # other package sets: only the latest is kept
                    older.unlink(missing_ok=True)
                marker.touch()
            except OSError as exc:
                log.debug("cannot remember the component scan in %s: %s", marker, exc)
        return found

    scan_component_manifests.remembers_empty = True
    manifest_scanner.scan_component_manifests = scan_component_manifests
    return True
