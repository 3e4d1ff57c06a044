"""App restart to first answer, in a real browser: python -m bench.app_cold [--runs 3] [--index-dir DIR]

With the index already built, each run starts `streamlit run app.py` (headless, a free port on
127.0.0.1) and, in Debian's Chromium driven by Playwright, times from the server's launch to

  ready_s         the chat input usable (enabled, on the page, the start-up steps gone), and
  first_answer_s  the first answer rendered after typing a question into it,

with the steps between: healthy_s (the server answers its health check), page_loaded_s (the page's
scripts have run: DOMContentLoaded), first_element_s (the first element the app's script drew is on
the page), answer_after_ask_s; and the server process's CPU seconds up to each of healthy, ready and
the answer (server_cpu_healthy_s, server_cpu_ready_s, server_cpu_s).

The browser is launched before the server and is not part of the timing: a user restarting the app
already has a browser open. Medians over the runs; every run's figures are kept too. The helpers
that start the server and the browser are shared with the browser test (tests/app/test_browser.py).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-proxy-server"]
LOOPBACK = {"127.0.0.1"}
CHAT_PLACEHOLDER = "Ask about the letters"
# Generous: a first build on a loaded 2-core machine; a run that hits them fails loudly.
READY_TIMEOUT_S = 180
ANSWER_TIMEOUT_S = 120


class BrowserMissing(RuntimeError):
    """Chromium or Playwright is not installed here, so nothing can be timed in a browser."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Poll streamlit's health endpoint until it answers "ok" (the server is up; no script has run yet)."""
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with opener.open(url + "/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"streamlit did not become healthy in {timeout}s:\n{log.read_text()[-3000:]}")


class Server:
    """`streamlit run app.py` as a user starts it (the project's .streamlit/config.toml), on a free
    loopback port, over the given letters and index folders; no admin passphrase, no network."""

    def __init__(self, corpus: Path, index: Path, log: Path, extra_env: dict | None = None, root: Path = ROOT):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "LETTERS_QA_CORPUS": str(corpus), "LETTERS_QA_INDEX": str(index),
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost",
               "no_proxy": "127.0.0.1,localhost", **(extra_env or {})}
        env.pop("LETTERS_QA_ADMIN_PASSPHRASE", None)
        self.log = log
        self.started = time.perf_counter()
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(root / "app.py"), "--server.headless", "true",
                 "--server.port", str(self.port)],
                cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)

    def __enter__(self):
        try:
            wait_healthy(self.url, self.process, self.log)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def guard(page, outside: list[str], inside: list[str]) -> None:
    """Route every request: loopback ones go through (and are counted), any other host is recorded
    and refused."""
    def handle(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            inside.append(route.request.url)
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    page.on("websocket", lambda ws: None if urlparse(ws.url).hostname in LOOPBACK else outside.append(ws.url))


def launch_chromium(playwright):
    if not Path(CHROMIUM).exists():
        raise BrowserMissing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# An answer is on the page when the assistant's message (the second chat message) has rendered its
# 👍/👎 row, the last thing an answer, a refusal or an error-free reply draws, or a warning (a
# question the app could not answer) — and the script run that drew it is over (nothing stale).
_ANSWERED_JS = """() => {
  const msgs = document.querySelectorAll('[data-testid="stChatMessage"]');
  if (msgs.length < 2) return false;
  const last = msgs[msgs.length - 1];
  const done = last.querySelector('[data-testid="stFeedback"], [data-testid="stAlert"]');
  return !!done && !document.querySelector('[data-stale="true"]');
}"""


_FIRST_ELEMENT = "h1"  # the first thing the app's script draws: its title, above the start-up steps


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (Linux /proc), None where unknown. On a
    shared machine the server's CPU is the figure that other people's load does not inflate."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def one_run(browser, corpus: Path, index_dir: Path, question: str, log: Path, root: Path = ROOT) -> dict:
    """One restart of the app in `root`: server launch → chat input usable → first answer rendered
    (seconds from launch), and the server's CPU seconds until then."""
    outside: list[str] = []
    inside: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        guard(page, outside, inside)
        with Server(corpus, index_dir, log, root=root) as server:
            healthy = time.perf_counter() - server.started
            cpu_healthy = cpu_seconds(server.process.pid)
            page.goto(server.url, wait_until="domcontentloaded")
            loaded = time.perf_counter() - server.started
            page.wait_for_selector(_FIRST_ELEMENT, timeout=READY_TIMEOUT_S * 1000)
            first_element = time.perf_counter() - server.started
            box = page.get_by_placeholder(CHAT_PLACEHOLDER)
            box.wait_for(state="visible", timeout=READY_TIMEOUT_S * 1000)
            page.wait_for_function("() => { const b = document.querySelector('[data-testid=\"stChatInputTextArea\"]');"
                                   " return b && !b.disabled; }", timeout=READY_TIMEOUT_S * 1000)
            ready = time.perf_counter() - server.started
            cpu_ready = cpu_seconds(server.process.pid)
            asked_at = time.perf_counter()
            box.fill(question)
            box.press("Enter")
            page.wait_for_function(_ANSWERED_JS, timeout=ANSWER_TIMEOUT_S * 1000)
            answered = time.perf_counter()
            cpu = cpu_seconds(server.process.pid)
    finally:
        page.close()
    if outside:
        raise RuntimeError(f"requests left 127.0.0.1: {outside}")
    return {"healthy_s": healthy, "page_loaded_s": loaded, "first_element_s": first_element, "ready_s": ready,
            "answer_after_ask_s": answered - asked_at, "first_answer_s": answered - server.started,
            "server_cpu_healthy_s": cpu_healthy, "server_cpu_ready_s": cpu_ready, "server_cpu_s": cpu}


def _medians(results: list[dict]) -> dict:
    out = {}
    for key in results[0]:
        values = [r[key] for r in results if r[key] is not None]
        out[f"app_{key}"] = statistics.median(values) if values else None
    return out


def measure(corpus: Path | str, index_dir: Path | str, question: str, runs: int = 3, log=None,
            roots: tuple[Path, ...] = (ROOT,)) -> dict:
    """Median restart figures over `runs` restarts of the app on an index that is already built. With
    several checkouts in `roots` (this one first), their restarts alternate, so that the machine's
    load falls on each alike; the figures of roots[0] are the top-level ones, every root's are under
    "by_root"."""
    from index.store import current_build

    corpus, index_dir = Path(corpus), Path(index_dir)
    if current_build(index_dir) is None:
        raise RuntimeError(f"no index in {index_dir}: build it first (python -m index build)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise BrowserMissing("playwright is not installed: pip install -r requirements-dev.txt") from None
    results: dict[Path, list[dict]] = {Path(r): [] for r in roots}
    with tempfile.TemporaryDirectory(prefix="letters-qa-app-cold-") as work, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for n in range(runs):
                for root in results:
                    result = one_run(browser, corpus, index_dir, question, Path(work) / f"streamlit-{n}.log", root)
                    if log:
                        log(f"  app restart {n + 1}/{runs} ({root}): "
                            + ", ".join(f"{k}={v:.2f}" for k, v in result.items() if v is not None))
                    results[root].append(result)
        finally:
            browser.close()
    first = results[Path(roots[0])]
    return {"runs": runs, **_medians(first), "app_all": first,
            "by_root": {str(root): _medians(rs) for root, rs in results.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.app_cold", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--index-dir", type=Path, default=None,
                    help="an index already built over --corpus (default: build one in a temporary folder)")
    ap.add_argument("--question", default="What grants does the Safer Communities Fund offer?")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--against", type=Path, action="append", default=[], metavar="CHECKOUT",
                    help="another checkout of the project (e.g. the main branch) to time in alternating runs")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="letters-qa-app-cold-index-") as tmp:
        index_dir = args.index_dir
        if index_dir is None:
            index_dir = Path(tmp) / "index"
            subprocess.run([sys.executable, "-m", "index", "build", "--quiet", "--corpus", str(args.corpus),
                            "--index-dir", str(index_dir)], cwd=ROOT, check=True)
        result = measure(args.corpus, index_dir, args.question, args.runs,
                         log=lambda m: print(m, file=sys.stderr, flush=True),
                         roots=(ROOT, *[a.resolve() for a in args.against]))
    for root, f in result["by_root"].items():
        cpu = f["app_server_cpu_s"]
        print(f"{root}: app restart, median of {result['runs']}: chat usable {f['app_ready_s']:.2f} s, "
              f"first answer {f['app_first_answer_s']:.2f} s "
              f"(answer {f['app_answer_after_ask_s']:.2f} s after asking)"
              + (f"; server CPU {cpu:.2f} s" if cpu is not None else ""))
        print(f"  steps (s from launch): server healthy {f['app_healthy_s']:.2f}, page loaded {f['app_page_loaded_s']:.2f}, "
              f"first element {f['app_first_element_s']:.2f}, chat usable {f['app_ready_s']:.2f}, "
              f"first answer {f['app_first_answer_s']:.2f}"
              + ("" if cpu is None else f"; server CPU to healthy {f['app_server_cpu_healthy_s']:.2f}, "
                 f"to usable {f['app_server_cpu_ready_s']:.2f}, to the answer {cpu:.2f}"))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
