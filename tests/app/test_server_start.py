"""Server start: Streamlit's scan of the installed packages for custom components runs once per set
of packages; a restart with the same packages and no components skips it."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.components.v2 import manifest_scanner

from app_support.server_start import no_components_marker, packages_fingerprint, remember_empty_component_scan


@pytest.fixture
def scans(monkeypatch):
    """Streamlit's real scan, counted; the module's function is restored after the test."""
    real = manifest_scanner.scan_component_manifests
    calls = []
    monkeypatch.setattr(manifest_scanner, "scan_component_manifests", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_the_fingerprint_follows_installs_and_removals_in_the_package_folders_only(tmp_path):
    site, app = tmp_path / "site-packages", tmp_path / "app"
    site.mkdir(), app.mkdir()
    (site / "alpha-1.0.dist-info").mkdir()
    (tmp_path / "archive.zip").write_bytes(b"")
    path = [str(site), str(app), str(tmp_path / "missing"), str(tmp_path / "archive.zip")]
    before = packages_fingerprint(path)
    assert packages_fingerprint(path) == before
    (app / "edited.py").write_text("# the app's own folder changes as it is edited")
    assert packages_fingerprint(path) == before
    (site / "beta-2.0.dist-info").mkdir()
    installed = packages_fingerprint(path)
    (site / "beta-2.0.dist-info").rmdir()
    removed = packages_fingerprint(path)
    assert len({before, installed, removed}) == 3


def test_an_empty_scan_is_remembered_until_the_packages_change(tmp_path, scans, monkeypatch):
    assert remember_empty_component_scan(tmp_path)
    assert manifest_scanner.scan_component_manifests() == []  # this environment has no components
    assert manifest_scanner.scan_component_manifests() == []
    assert len(scans) == 1
    assert no_components_marker(tmp_path, packages_fingerprint()).is_file()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "newly_installed-1.0.dist-info").mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path / "site")])
    assert manifest_scanner.scan_component_manifests() == []
    assert len(scans) == 2  # other packages: scanned again
    assert [p.name for p in (tmp_path / "streamlit-components").iterdir()] == \
        [no_components_marker(tmp_path, packages_fingerprint()).name]  # only the latest set is kept


def test_a_scan_that_finds_components_is_never_skipped(tmp_path, monkeypatch):
    found = [("manifest", Path("/somewhere"))]
    calls = []
    monkeypatch.setattr(manifest_scanner, "scan_component_manifests", lambda *a, **k: calls.append(1) or found)
    remember_empty_component_scan(tmp_path)
    assert manifest_scanner.scan_component_manifests() == found
    assert manifest_scanner.scan_component_manifests() == found
    assert len(calls) == 2 and not (tmp_path / "streamlit-components").exists()


def test_an_unwritable_cache_only_costs_the_scan(tmp_path, scans):
    (tmp_path / "streamlit-components").write_text("a file where the folder should be")
    remember_empty_component_scan(tmp_path)
    assert manifest_scanner.scan_component_manifests() == []
    assert manifest_scanner.scan_component_manifests() == []
    assert len(scans) == 2


def test_wrapping_twice_wraps_once(tmp_path, scans):
    remember_empty_component_scan(tmp_path)
    wrapped = manifest_scanner.scan_component_manifests
    remember_empty_component_scan(tmp_path)
    assert manifest_scanner.scan_component_manifests is wrapped
