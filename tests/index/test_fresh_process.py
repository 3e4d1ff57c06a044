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
