"""A fresh build process loads only what its work needs (issue 12: adding one letter in a new process)."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

LETTER = "Jane Holloway, Police and Crime Commissioner for Riverton, wrote to Mr John Smith on 3 March 2021 about £4,000."


def _in_fresh_process(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_finding_names_with_spacy_does_not_import_torch_and_leaves_torch_importable():
    seen = _in_fresh_process(
        "import json, sys; from index.entities import extract_entities; "
        f"found = extract_entities([{LETTER!r}]); "
        "print(json.dumps({'entities': [[e.kind, e.label] for e in found[0]], "
        "'torch': 'torch' in sys.modules, 'spacy': 'spacy' in sys.modules}))")
    assert seen["spacy"] and not seen["torch"]  # not even the None that hid it while spaCy was imported
    assert ["person", "PERSON"] in seen["entities"] and ["date", "DATE"] in seen["entities"]
    assert ["money", "MONEY"] in seen["entities"]


def test_a_no_op_cli_build_imports_neither_numpy_nor_a_model(tmp_path):
    from index.building import build_index
    from index.settings import Settings
    from tests.conftest import TOWN_LETTERS, write_letters

    corpus = write_letters(tmp_path / "corpus", TOWN_LETTERS)
    (corpus / "empty.txt").write_text("")
    index_dir = tmp_path / "index"
    build_index(Settings(corpus_dir=corpus, index_dir=index_dir))
    argv = ["build", "--corpus", str(corpus), "--index-dir", str(index_dir)]
    seen = _in_fresh_process(
        "import contextlib, io, json, sys; from index.__main__ import main; out, err = io.StringIO(), io.StringIO()\n"
        f"with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): code = main({argv!r})\n"
        "print(json.dumps({'code': code, 'out': out.getvalue(), 'err': err.getvalue(), "
        "'heavy': sorted(m for m in ('numpy', 'faiss', 'onnxruntime', 'spacy', 'torch', 'tiktoken') if m in sys.modules)}))")
    assert seen["code"] == 0 and seen["heavy"] == []
    assert seen["out"].startswith("index up to date: 2 documents") and "(1 skipped, 0 ignored)" in seen["out"]
    assert seen["err"].strip() == "skipped empty.txt: empty file"
