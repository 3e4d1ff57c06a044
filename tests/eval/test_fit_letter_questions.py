"""The fit's questions about the train letters' own fields: answered by the gold metadata, as printed."""
from __future__ import annotations

from eval.catalogue import Letter, Metadata
from eval.fit import LETTER_QUESTIONS, letter_questions


def catalogued(source: str, split: str, **fields) -> Letter:
    meta = {f: None for f in ("sender", "role", "organisation", "recipient", "date", "reference", "subject")}
    meta.update(fields)
    return Letter(source, split, "w1", "council", (), "txt", 1, Metadata(**meta))


def test_each_field_of_a_train_letter_is_asked_for_naming_its_organisation_and_answered_as_printed():
    letters = [catalogued("a.txt", "train", organisation=("Northshire County Council", "Northshire Council"),
                          sender=("Jane Okafor",), date="2024-03-12", recipient=("Ms Patel",)),
               catalogued("b.txt", "dev", organisation=("Eastvale Council",), sender=("Tom Reid",))]
    texts = {"a.txt": "Northshire Council\n\n12th March 2024\n\nDear Ms Patel,\n\nText.\n\nYours sincerely,\n\nJane Okafor\n"}
    asked = {q.id.rsplit("-", 1)[-1]: q for q in letter_questions(letters, texts.__getitem__)}
    assert set(asked) == {"date", "sender", "recipient"}  # only the fields the letter has; dev letters never
    assert asked["date"].answers == ("12th March 2024",) and asked["date"].question in \
        [p.format(name="Northshire Council") for p in LETTER_QUESTIONS["date"]]
    assert asked["sender"].answers == ("Jane Okafor",)
    assert all(q.split == "train" and q.source == "a.txt" and q.category == "letter_field" for q in asked.values())
