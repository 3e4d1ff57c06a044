"""Hostile questions: one bad line in a batch is {"id", "error"} and the run goes on; a bad
command-line question is one error line and exit 2."""
from __future__ import annotations

import json
import subprocess
import sys

from retrieval.__main__ import main
from tests.conftest import ROOT

GOOD = {"id": "good", "question": "What is the maximum Safer Communities Fund grant?"}


def run_batch(tmp_path, capsys, index_dir, lines: list[bytes]):
    questions = tmp_path / "q.jsonl"
    questions.write_bytes(b"\n".join(lines) + b"\n")
    code = main(["ask", "--questions", str(questions), "--index-dir", str(index_dir), "--json"])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_each_bad_line_is_an_error_object_and_the_run_goes_on(shipped_settings, tmp_path, capsys):
    lines = [
        json.dumps({"id": "surrogate", "question": "Who wrote \ud800 the letter?"}).encode(),
        b"[" * 100_000 + b"]" * 100_000,
        b'["not", "an", "object"]',
        b'{"id": "bytes", "question": "Who wrote \xff the letter?"}',
        json.dumps({"id": 7, "question": 42}).encode(),
        json.dumps({"id": "no question"}).encode(),
        json.dumps(GOOD).encode(),
    ]
    code, out, err = run_batch(tmp_path, capsys, shipped_settings.index_dir, lines)
    assert code == 0 and "Traceback" not in err
    assert [o["id"] for o in out] == ["surrogate", "line2", "line3", "line4", 7, "no question", "good"]
    assert all(set(o) == {"id", "error"} and o["error"] for o in out[:-1])
    assert "not valid text" in out[0]["error"] and "nested too deeply" in out[1]["error"]
    assert "not a JSON object" in out[2]["error"] and "UTF-8" in out[3]["error"]
    assert out[-1]["answer"] and not out[-1]["abstained"]


def test_an_id_with_a_lone_surrogate_is_echoed_escaped(shipped_settings, tmp_path, capsys):
    line = json.dumps({"id": "q\udc80", "question": GOOD["question"]}).encode()
    code, out, _ = run_batch(tmp_path, capsys, shipped_settings.index_dir, [line])
    assert code == 0 and out[0]["id"] == "q\udc80" and out[0]["answer"]


def test_a_bad_byte_in_a_command_line_question_is_one_error_line_and_exit_2(shipped_settings):
    result = subprocess.run([sys.executable, "-m", "retrieval", "ask", b"Who wrote \xff the letter?",
                             "--index-dir", str(shipped_settings.index_dir)],
                            cwd=ROOT, capture_output=True, timeout=120)
    stderr = result.stderr.decode("utf-8", "replace").strip()
    assert result.returncode == 2 and "Traceback" not in stderr
    assert stderr.startswith("error: the question contains a character that is not valid text")
    assert len(stderr.splitlines()) == 1 and result.stdout == b""
