"""Soak test: concurrent askers while letters come and go and builders are killed.

    python -m bench.soak [--askers 8] [--cli-askers 2] [--seconds 300] [--kills 10] [--work DIR]

A corpus of the shipped letters plus synthetic ones (bench/synth.py) is indexed; a pool of extra
letters (--pool) is added and removed one at a time. Every corpus state (base plus any subset of the
pool) is first built and asked single-threaded: that is the reference. Then, for --seconds:

- askers: threads sharing one Assistant (as the app does); each answer is compared with the reference
  of the state of the build that answered it (Assistant.pinned() says which build that was);
- CLI askers: processes running `python -m retrieval ask --questions … --json`; each answer must equal
  the reference of one of the states (a process does not report its build);
- a mutator: flips one pool letter, runs `python -m index build` in a subprocess, and kills it with
  SIGKILL at a random moment often enough to reach --kills; after every kill the index must still
  open and hold the letters of some corpus state.

At the end an unkilled build must bring the index to exactly the corpus, `verify` must pass and no
staging or old build folder may remain. Prints one summary; exit 1 on any error, mismatch or loss.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "corpus"


def signature(answer_json: dict) -> str:
    """What must match between runs: the answer, its citations and passages, scores to 4 places."""
    keep = {k: v for k, v in answer_json.items() if k not in ("id", "timing", "seconds", "elapsed_ms")}
    return json.dumps(keep, sort_keys=True, ensure_ascii=False)


def letter_set(reader) -> frozenset[str]:
    return frozenset(reader.manifest["files"])


class Soak:
    def __init__(self, args):
        self.args = args
        self.work = Path(args.work or tempfile.mkdtemp(prefix="letters-soak-"))
        self.corpus = self.work / "corpus"
        self.index_dir = self.work / "index"
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.counts = Counter()
        self.problems: list[str] = []
        self.stop = threading.Event()

    # --- set-up ---------------------------------------------------------------------------------
    def make_corpus(self) -> None:
        from bench.synth import generate_letter

        if self.work.exists():
            shutil.rmtree(self.corpus, ignore_errors=True)
            shutil.rmtree(self.index_dir, ignore_errors=True)
        shutil.copytree(SHIPPED, self.corpus / "shipped")
        base = [generate_letter(i, seed=self.args.seed, fmt="txt") for i in range(self.args.letters)]
        for letter in base:
            (self.corpus / "synth").mkdir(parents=True, exist_ok=True)
            (self.corpus / "synth" / letter.file_name).write_text(letter.text, encoding="utf-8")
        self.pool = [generate_letter(10_000 + i, seed=self.args.seed, fmt="txt") for i in range(self.args.pool)]
        self.pool_dir = self.work / "pool"
        self.pool_dir.mkdir(exist_ok=True)
        for letter in self.pool:
            (self.pool_dir / letter.file_name).write_text(letter.text, encoding="utf-8")
        shipped_questions = [json.loads(line)["question"] for line in
                             (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()[:8]]
        synth_questions = [q for letter in base[:2] + self.pool for q, _ in letter.qa[:2]]
        self.questions = shipped_questions + synth_questions

    def set_pool(self, present: frozenset[str]) -> None:
        folder = self.corpus / "pool"
        folder.mkdir(exist_ok=True)
        for letter in self.pool:
            path = folder / letter.file_name
            if letter.file_name in present and not path.exists():
                shutil.copy(self.pool_dir / letter.file_name, path)
            elif letter.file_name not in present and path.exists():
                path.unlink()

    def present(self) -> frozenset[str]:
        folder = self.corpus / "pool"
        return frozenset(p.name for p in folder.iterdir()) if folder.is_dir() else frozenset()

    def settings(self):
        from index.settings import Settings

        return Settings.from_env(corpus_dir=self.corpus, index_dir=self.index_dir, build_wait_seconds=600)

    def reference(self) -> None:
        """Build every corpus state in turn and answer every question single-threaded."""
        from index.building import build_index
        from retrieval import Assistant

        self.expected: dict[frozenset[str], dict[str, str]] = {}
        names = [letter.file_name for letter in self.pool]
        for size in range(len(names) + 1):
            for subset in itertools.combinations(names, size):
                self.set_pool(frozenset(subset))
                started = time.perf_counter()
                build_index(self.settings())
                self.counts["reference build seconds"] += time.perf_counter() - started
                assistant = Assistant.load(settings=self.settings())
                with assistant.pinned() as live:
                    files = letter_set(live.reader)
                    self.expected[files] = {q: signature(live.ask(q).to_json()) for q in self.questions}
                assistant.reader.close()
        self.all_signatures = {q: {answers[q] for answers in self.expected.values()} for q in self.questions}
        self.set_pool(frozenset())
        build_index(self.settings())

    # --- workers --------------------------------------------------------------------------------
    def note(self, counter: str, problem: str | None = None) -> None:
        with self.lock:
            self.counts[counter] += 1
            if problem and len(self.problems) < 50:
                self.problems.append(problem)

    def asker(self, assistant, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            question = rng.choice(self.questions)
            try:
                with assistant.pinned() as live:
                    files = letter_set(live.reader)
                    got = signature(live.ask(question).to_json())
            except Exception as exc:  # every failure is a finding
                self.note("errors", f"thread ask {question!r}: {type(exc).__name__}: {exc}")
                continue
            self.note("thread calls")
            wanted = self.expected.get(files, {}).get(question)
            if got != wanted:
                self.note("mismatches", f"thread ask {question!r} on {sorted(files)}: {got[:200]} != {str(wanted)[:200]}")

    def cli_asker(self, seed: int) -> None:
        rng = random.Random(seed)
        batch = self.work / f"questions-{seed}.jsonl"
        while not self.stop.is_set():
            chosen = rng.sample(self.questions, min(len(self.questions), 12))
            batch.write_text("".join(json.dumps({"id": str(i), "question": q}) + "\n" for i, q in enumerate(chosen)),
                             encoding="utf-8")
            result = subprocess.run([sys.executable, "-m", "retrieval", "ask", "--questions", str(batch), "--json",
                                     "--index-dir", str(self.index_dir)], cwd=ROOT, capture_output=True, text=True,
                                    timeout=600)
            lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
            if result.returncode != 0:
                self.note("errors", f"cli ask exit {result.returncode}: {result.stderr.strip()[-300:]}")
            for line in lines:
                if "error" in line:
                    self.note("errors", f"cli ask line error: {line['error']}")
                    continue
                self.note("cli calls")
                if signature(line) not in self.all_signatures[chosen[int(line["id"])]]:
                    self.note("mismatches", f"cli ask {line.get('question')!r}: {signature(line)[:200]}")

    def mutator(self, deadline: float) -> None:
        from index.store import IndexReader, IndexUnavailable

        started = time.monotonic()
        build_seconds: list[float] = [20.0]
        while time.monotonic() < deadline:
            letter = self.rng.choice(self.pool).file_name
            self.set_pool(self.present() ^ {letter})
            due = self.args.kills * (time.monotonic() - started + 20) / self.args.seconds
            kill = self.counts["builds killed"] < min(self.args.kills, due)
            begun = time.monotonic()
            builder = subprocess.Popen([sys.executable, "-m", "index", "build", "--quiet", "--corpus", str(self.corpus),
                                        "--index-dir", str(self.index_dir)], cwd=ROOT, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
            if kill:
                delay = self.rng.uniform(0.2, 1.1 * sorted(build_seconds)[len(build_seconds) // 2])
                try:
                    builder.wait(delay)
                except subprocess.TimeoutExpired:
                    builder.send_signal(signal.SIGKILL)
            builder.wait()
            _, err = builder.communicate()
            if builder.returncode == -signal.SIGKILL:
                self.note("builds killed")
            elif builder.returncode == 0:
                self.note("builds completed")
                build_seconds.append(time.monotonic() - begun)
            else:
                self.note("errors", f"build exit {builder.returncode}: {err.strip()[-300:]}")
            try:
                reader = IndexReader.open(self.index_dir)
                files = letter_set(reader)
                reader.close()
                if files not in self.expected:
                    self.note("letters lost", f"index holds an unknown set of letters: {sorted(files)}")
                elif builder.returncode == 0 and files != self.corpus_files():
                    self.note("letters lost", f"completed build differs from the corpus: {sorted(files)}")
            except IndexUnavailable as exc:
                self.note("index lost", f"after build exit {builder.returncode}: {exc}")
            time.sleep(self.rng.uniform(0.0, 2.0))

    def corpus_files(self) -> frozenset[str]:
        return frozenset(p.relative_to(self.corpus).as_posix() for p in self.corpus.rglob("*") if p.is_file())

    # --- run --------------------------------------------------------------------------------------
    def run(self) -> int:
        from index.building import build_index
        from index.store import IndexReader, verify
        from retrieval import Assistant

        began = time.perf_counter()
        self.make_corpus()
        self.reference()
        print(f"soak: {len(self.expected)} corpus states, {len(self.questions)} questions, reference in "
              f"{time.perf_counter() - began:.0f}s; work folder {self.work}", flush=True)
        assistant = Assistant.load(settings=self.settings())
        deadline = time.monotonic() + self.args.seconds
        workers = [threading.Thread(target=self.asker, args=(assistant, i)) for i in range(self.args.askers)]
        workers += [threading.Thread(target=self.cli_asker, args=(1000 + i,)) for i in range(self.args.cli_askers)]
        for worker in workers:
            worker.start()
        self.mutator(deadline)
        self.stop.set()
        for worker in workers:
            worker.join()

        report = build_index(self.settings())
        reader = IndexReader.open(self.index_dir)
        final_files = letter_set(reader)
        reader.close()
        if final_files != self.corpus_files():
            self.note("letters lost", f"final index {sorted(final_files)} != corpus")
        _, checked, damaged = verify(self.index_dir)
        leftovers = sorted(p.name for p in self.index_dir.iterdir()
                           if p.name.startswith((".staging-", ".trash-", "build-")) and p.name != reader.build.name)
        c = self.counts
        print(f"soak: {self.args.seconds:.0f}s, {self.args.askers} asker threads + {self.args.cli_askers} CLI askers: "
              f"{c['thread calls'] + c['cli calls']} calls ({c['thread calls']} in threads, {c['cli calls']} by CLI), "
              f"{c['errors']} errors, {c['mismatches']} mismatches")
        print(f"soak: {c['builds completed'] + c['builds killed']} builds ({c['builds completed']} completed, "
              f"{c['builds killed']} killed with SIGKILL); index lost {c['index lost']} times, "
              f"letters lost {c['letters lost']} times; final build: {report.summary()}")
        print(f"soak: final index {'matches' if final_files == self.corpus_files() else 'DIFFERS FROM'} the corpus "
              f"({len(final_files)} letters); verify: {'OK' if not damaged else damaged}, {checked} files; "
              f"leftover folders: {leftovers or 'none'}")
        for problem in self.problems[:20]:
            print(f"  problem: {problem}")
        failed = c["errors"] or c["mismatches"] or c["index lost"] or c["letters lost"] or damaged or leftovers
        if not self.args.work and not failed:
            shutil.rmtree(self.work, ignore_errors=True)
        return 1 if failed else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    ap.add_argument("--askers", type=int, default=8, help="asking threads sharing one Assistant")
    ap.add_argument("--cli-askers", type=int, default=2, help="processes asking through the CLI in a loop")
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--kills", type=int, default=10, help="builds to kill with SIGKILL")
    ap.add_argument("--letters", type=int, default=20, help="synthetic letters always in the corpus")
    ap.add_argument("--pool", type=int, default=2, help="synthetic letters added and removed (2^pool states)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", help="keep the corpus and index here (default: a temporary folder)")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    return Soak(args).run()


if __name__ == "__main__":
    sys.exit(main())
