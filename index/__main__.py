"""python -m index build | info | text | verify | optimize  (see CONTRACT.md)."""
from __future__ import annotations

import argparse
import json
import logging
import sys

from .settings import Settings


def _settings(args) -> Settings:
    return Settings.from_env(corpus_dir=getattr(args, "corpus", None), index_dir=args.index_dir)


def cmd_build(args) -> int:
    from .snapshot import up_to_date

    settings = _settings(args)
    # a no-op without importing the pipeline (a --ray-address without --engine ray is refused by make_engine)
    quick = not args.rebuild and (args.engine == "ray" or not args.ray_address)
    report = up_to_date(settings) if quick else None
    if report is not None:
        _print_report(report)
        return 0
    from .building import NothingToIndex, build_index
    from .engines import make_engine

    engine = make_engine(args.engine, settings, args.ray_address)
    try:
        report = build_index(settings, rebuild=args.rebuild, show_progress=sys.stderr.isatty() and not args.quiet,
                             engine=engine)
    except NothingToIndex as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.close()
    _print_report(report)
    return 0


def _print_report(report) -> None:
    for skip in report.skipped:
        print(skip.line(), file=sys.stderr)
    print(report.summary())


def cmd_info(args) -> int:
    from .store import IndexReader

    settings = _settings(args)
    reader = IndexReader.open(settings.index_dir)
    manifest = reader.manifest
    info = {
        "index_dir": str(settings.index_dir),
        "model": manifest["model"],
        "dimension": manifest["dimension"],
        "chunker": manifest["chunker"],
        "built_at": manifest["built_at"],
        "counts": manifest["counts"],
        "segments": [{"name": s["name"], "documents": s["documents"] - len(s.get("deleted") or ()),
                      "deleted": len(s.get("deleted") or ()), "chunks": s["chunks"], "faiss": s.get("faiss")}
                     for s in manifest.get("segments", [])],
        "skipped": {s: e["reason"] for s, e in manifest.get("unreadable", {}).items()},
        "documents": [d.to_json() for d in reader.documents],
    }
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    c = manifest["counts"]
    print(f"index {settings.index_dir}: {c['documents']} documents, {c['chunks']} chunks, {c['sentences']} sentences; "
          f"model {manifest['model']} (dim {manifest['dimension']}); built {manifest['built_at']}; "
          f"{len(info['segments'])} segment{'s' if len(info['segments']) != 1 else ''}")
    for segment in manifest.get("segments", []):
        print(f"  {segment['name']}: {_dense_line(segment.get('faiss') or {})}")
    for d in reader.documents:
        m = d.metadata
        print(f"- {d.source}\n    title: {m.title}\n    sender: {m.sender} ({m.role})\n"
              f"    organisation: {m.organisation}\n    date: {m.date}   recipient: {m.recipient}   "
              f"reference: {m.reference}\n    subject: {m.subject}")
    return 0


def _dense_line(faiss_info: dict) -> str:
    from .ann import DenseInfo

    try:
        return DenseInfo(**faiss_info).line()
    except TypeError:  # a build from before index/ann.py recorded only the type and size
        return f"dense index: {faiss_info.get('type')} over {faiss_info.get('ntotal')} vectors"


def cmd_text(args) -> int:
    from .store import IndexReader

    reader = IndexReader.open(_settings(args).index_dir)
    try:
        text = reader.text(args.source)
    except KeyError:
        print(f"error: no document {args.source!r} in the index; `python -m index info` lists them", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def cmd_verify(args) -> int:
    from .store import repair_hint, verify

    index_dir = _settings(args).index_dir
    build, checked, problems = verify(index_dir)
    for problem in problems:
        print(problem.line(index_dir))
    if problems:
        print(f"index {index_dir} is damaged ({len(problems)} of {checked} files); {repair_hint(index_dir)}")
        return 1
    print(f"index {index_dir}: {checked} files of {build.name} match their sha256")
    return 0


def cmd_optimize(args) -> int:
    from .building import optimize_index

    report = optimize_index(_settings(args))
    if report.noop:
        print(f"index already optimal: {report.documents} documents in {report.segments} segment")
    else:
        before = report.segments_before
        print(f"merged {before} segment{'s' if before != 1 else ''} into one (removed letters' rows dropped): "
              f"{report.documents} documents, {report.chunks} chunks in {report.seconds:.1f}s")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m index", description="Build and inspect the Letters QA index.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="index every supported file under the corpus folder")
    build.add_argument("--corpus", help="corpus folder (default: $LETTERS_QA_CORPUS or corpus/)")
    build.add_argument("--index-dir", help="index folder (default: $LETTERS_QA_INDEX or .letters_qa_index/)")
    build.add_argument("--rebuild", action="store_true", help="ignore the previous index and rebuild everything")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="where letters are parsed and embedded: this process (default) or Ray Data "
                            "(pip install -r requirements-scale.txt); the index is the same")
    build.add_argument("--ray-address", help="Ray cluster to join, e.g. ray://head:10001 or auto "
                                             "(default with --engine ray: a local Ray on this machine)")
    build.set_defaults(func=cmd_build)
    info = sub.add_parser("info", help="documents with their metadata, counts, model")
    info.add_argument("--index-dir")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=cmd_info)
    text = sub.add_parser("text", help="print the canonical text of one document")
    text.add_argument("source", help="source path (relative to the corpus) or doc_id")
    text.add_argument("--index-dir")
    text.set_defaults(func=cmd_text)
    verify = sub.add_parser("verify", help="check every file of the index against the sha256 recorded at build time "
                                           "(exit 1 with one line per damaged file)")
    verify.add_argument("--index-dir")
    verify.set_defaults(func=cmd_verify)
    optimize = sub.add_parser("optimize", help="merge the index's segments into one (no re-embedding)")
    optimize.add_argument("--index-dir")
    optimize.set_defaults(func=cmd_optimize)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    # IndexUnavailable, ModelUnavailable and BuildLocked are RuntimeErrors (not imported here: a no-op
    # build imports neither the index readers nor the models)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the previous index is unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
