"""Metadata: what a reader looks for, read from the letter; unknown fields stay None."""
from __future__ import annotations

import textwrap

from index.metadata import extract_metadata, parse_date
from tests.conftest import SHIPPED, TOWN_LETTERS


def shipped(name: str) -> str:
    return (SHIPPED / name).read_text(encoding="utf-8-sig")


def test_greater_manchester_letter():
    m = extract_metadata(shipped("gmca-2020-05-04-prevent-response.txt"))
    assert m.sender == "Baroness Beverley Hughes"
    assert m.role.startswith("Deputy Mayor of Greater Manchester")
    assert m.organisation == "Greater Manchester Combined Authority"
    assert m.date == "2020-05-04"
    assert m.recipient == "Home Secretary"
    assert "Prevent programme" in m.subject
    assert m.reference is None
    assert "Greater Manchester" in m.title


def test_west_yorkshire_letter():
    m = extract_metadata(shipped("west-yorkshire-pcc-2020-06-19-prevent-response.txt"))
    assert m.sender == "Mark Burns-Williamson"
    assert m.role == "Police and Crime Commissioner for West Yorkshire"
    assert "West Yorkshire" in m.organisation
    assert m.date == "2020-06-19"
    assert m.reference == "OPCC/MBW/NF"
    assert m.subject.startswith("HMICFRS Inspection Report")


def test_other_layouts():
    riverton = extract_metadata(textwrap.dedent(TOWN_LETTERS["riverton.txt"]))
    assert (riverton.sender, riverton.date, riverton.recipient) == ("Jane Holloway", "2021-03-12", "Chief Inspector")
    assert riverton.subject == "Inspection of custody services"
    assert riverton.role == "Police and Crime Commissioner for Riverton"
    lowmoor = extract_metadata(textwrap.dedent(TOWN_LETTERS["lowmoor.txt"]))
    assert lowmoor.reference == "LM/OPCC/22"
    assert lowmoor.date == "2019-11-03"
    assert lowmoor.sender == "Peter Okafor"
    assert lowmoor.role == "Deputy Mayor for Policing in Lowmoor"


def test_unknown_fields_stay_none():
    m = extract_metadata("Some notes without any letter structure at all.")
    assert (m.sender, m.date, m.recipient, m.reference, m.subject) == (None, None, None, None, None)


def test_dates_in_the_formats_letters_use():
    assert parse_date("4<sup>th</sup> May 2020") == "2020-05-04"
    assert parse_date("19th June 2020") == "2020-06-19"
    assert parse_date("May 4, 2020") == "2020-05-04"
    assert parse_date("04/05/2020") == "2020-05-04"
    assert parse_date("1st Sept 2019") == "2019-09-01"
    assert parse_date("31st February 2020") is None
