"""One real-browser end-to-end test: `streamlit run app.py` driven by Debian's chromium via playwright."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT, SCF_QUESTION

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-proxy-server"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"streamlit exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with opener.open(url + "/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"streamlit did not become healthy in {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.mark.browser
def test_chat_in_a_real_browser(prebuilt, tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: install it with apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium); required in CI")
    sync_api = pytest.importorskip("playwright.sync_api")

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(prebuilt / "corpus", corpus)
    shutil.copytree(prebuilt / "index", index)
    port = _free_port()
    env = {**os.environ, "LETTERS_QA_CORPUS": str(corpus), "LETTERS_QA_INDEX": str(index),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost",
           "no_proxy": "127.0.0.1,localhost"}
    log = tmp_path / "streamlit.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    shot = tmp_path / "e2e.png"
    try:
        _wait_healthy(url, server, log)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url, wait_until="domcontentloaded")
                box = page.get_by_placeholder(re.compile("Ask about the letters"))
                box.wait_for(timeout=90_000)  # the model and index load on the first run
                box.fill(SCF_QUESTION)
                box.press("Enter")
                page.get_by_text("£6k").first.wait_for(timeout=60_000)
                page.wait_for_timeout(300)
                page.screenshot(path=str(tmp_path / "e2e-chat.png"), full_page=True)
                page.get_by_role("button", name=re.compile("Open in letter")).first.click()
                dialog = page.get_by_role("dialog")
                dialog.get_by_text("Cited passage, in context").wait_for(timeout=30_000)
                sync_api.expect(dialog).to_contain_text("Safer Communities Fund")
                sync_api.expect(dialog).to_contain_text("£6k")
                page.wait_for_timeout(500)
                page.screenshot(path=str(shot), full_page=True)
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert shot.stat().st_size > 10_000
    keep = ROOT / "test-output"
    keep.mkdir(exist_ok=True)
    shutil.copyfile(shot, keep / "e2e.png")
    shutil.copyfile(tmp_path / "e2e-chat.png", keep / "e2e-chat.png")
