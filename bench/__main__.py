"""python -m bench [--sizes 2,1000,10000] [--out bench/results] [--queries 30] [--rounds 2]

Benchmarks Letters QA at several corpus sizes (2 = the shipped letters, others synthetic) and writes
results.json, a printed table (table.txt) and latency.png / build.png into the out dir. The TARGETS
rows are issue 12's ratios, numerator and denominator measured in alternating rounds in one run;
`--sizes 2 --phases targets` measures only those on the shipped letters; `--phases grow` times adding
and removing one letter on stand-in indexes of each size (bench/grow.py).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

from . import grow, measure


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="2,1000,10000", help="comma-separated corpus sizes (2 = shipped corpus)")
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    ap.add_argument("--queries", type=int, default=30, help="questions per size for the warm latency loop")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "letters_qa_bench",
                    help="where synthetic corpora and their indexes are kept between runs")
    ap.add_argument("--bare-sample", type=int, default=3000,
                    help="bare-encode all texts when there are at most this many, else a random sample of this many")
    ap.add_argument("--cli-runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds for the TARGETS ratios")
    ap.add_argument("--app-runs", type=int, default=3,
                    help="app restarts timed in Chromium for the targets (bench/app_cold.py); 0 skips them")
    ap.add_argument("--no-int8", action="store_true", help="skip the int8 model's figures (its own index)")
    ap.add_argument("--phases", default="build,noop,add_one,query,cli,cold,recall,targets",
                    help="subset of phases; without build the cached index of a previous run is reused; "
                         "grow (not in the default) times one letter added to a stand-in index of each size")
    ap.add_argument("--faiss-scaling", action="store_true",
                    help="also time exact vs HNSW FAISS search at 60k-400k vectors (from the largest index)")
    ap.add_argument("--latency-only-sizes", default="",
                    help="sizes measured for query latency only, on an index with random surrogate vectors "
                         "(no embedding; its answers mean nothing)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    growing = "grow" in phases
    phases = tuple(p for p in phases if p != "grow")
    args.out.mkdir(parents=True, exist_ok=True)
    args.cache.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    out_json = args.out / f"results-{'-'.join(map(str, sizes))}-{stamp}.json"
    doc = {"machine": measure.machine(), "started": stamp, "sizes": sizes, "phases": list(phases),
           "queries": args.queries, "bare_sample": args.bare_sample, "results": []}

    def save(partial=None):
        results = doc["results"] + ([partial] if partial else [])
        out_json.write_text(json.dumps(dict(doc, results=results), indent=2))

    with tempfile.TemporaryDirectory(prefix="letters-qa-bench-") as work:
        for size in sizes if growing else []:
            doc.setdefault("grow", []).append(grow.run(size, args.cache, log=lambda m: print(m, file=sys.stderr,
                                                                                            flush=True)))
            save()
        for size in sizes if phases else []:
            result = measure.run_size(size, Path(work), args.cache, args.queries, args.bare_sample, args.cli_runs,
                                      phases, log=lambda m: print(m, file=sys.stderr, flush=True), on_phase=save,
                                      rounds=args.rounds, int8=not args.no_int8,
                                      app_runs=args.app_runs)
            doc["results"].append(result)
            save()
        for size in [int(x) for x in args.latency_only_sizes.split(",") if x.strip()]:
            result = measure.run_latency_only(size, Path(work), args.cache, args.queries,
                                              log=lambda m: print(m, file=sys.stderr, flush=True))
            doc.setdefault("latency_only", []).append(result)
            save()
        if args.faiss_scaling:
            import numpy as np
            from index.store import IndexReader
            biggest = max((r for r in doc["results"] if r["size"] != 2 and "build" in r), key=lambda r: r["size"],
                          default=None)
            if biggest:
                reader = IndexReader.open(Path(biggest["index_dir"]))
                vectors = np.asarray(reader.sentence_vectors)
                doc["faiss_scaling"] = measure.faiss_scaling(vectors)
                save()
    table = measure.format_table(doc["results"]) if doc["results"] else ""
    if doc.get("grow"):
        table += "\n\nONE LETTER ADDED TO A STAND-IN INDEX (bench/grow.py; medians):\n" + grow.format_table(doc["grow"])
    if doc.get("latency_only"):
        table += "\n\nLATENCY ONLY (random surrogate vectors, no embedding; answers meaningless):\n"
        table += measure.format_table(doc["latency_only"])
    m = doc["machine"]
    header = f"machine: {m['nproc']} cores, {m['cpu']}, {m['ram_gb']} GB RAM; load at start {m['loadavg_at_start']}"
    print(header)
    print(table)
    if doc.get("faiss_scaling"):
        for row in doc["faiss_scaling"]:
            print("faiss", measure._short(row))
    (args.out / "table.txt").write_text(header + "\n" + table + "\n")
    (args.out / "results.json").write_text(out_json.read_text())
    for path in measure.plot(doc["results"], args.out):
        print(f"wrote {path}")
    print(f"wrote {out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
