"""bench.answers: saved answers compare equal to themselves and flag any changed answer or confidence."""
from __future__ import annotations

import json

from bench.answers import differences, main, snapshot

QUESTIONS = ["Who signed the Riverton letter?", "How many roads policing officers did Lowmoor recruit?",
             "What is the capital of Peru?"]


def test_saved_answers_survive_json_and_flag_every_change(town_assistant, tmp_path):
    records, times, cpu = snapshot(town_assistant, QUESTIONS)
    assert len(records) == len(times) == len(cpu) == 3 and all(t > 0 for t in times)
    again = json.loads(json.dumps(records))
    assert differences(records, again) == []
    nudged = json.loads(json.dumps(records))
    nudged[0]["confidence"] += 1e-12
    assert differences(records, nudged) == []  # within the tolerance
    nudged[0]["confidence"] += 1e-6
    nudged[1]["answer"] = "31"
    found = differences(records, nudged)
    assert len(found) == 2 and "confidence" in found[0] and "answer" in found[1]
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(json.dumps(records))
    after.write_text(json.dumps(nudged))
    assert main(["diff", str(before), str(before)]) == 0
    assert main(["diff", str(before), str(after)]) == 1
    assert main(["diff", str(before), str(tmp_path / "missing.json")]) == 2
