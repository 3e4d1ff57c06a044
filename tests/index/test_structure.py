"""Letter structure: the parts of a letter found from its layout, whoever sent it."""
from __future__ import annotations

import textwrap

import pytest

from index.metadata import extract_metadata


def meta(text: str):
    return extract_metadata(textwrap.dedent(text).lstrip("\n"))


def test_memo_headers_give_sender_recipient_date_and_subject():
    m = meta("""
        MEMORANDUM
        To: All GP practices in the Wessex Downs area
        From: Dr Helen Marsh, Director of Primary Care
        Date: 2023-09-01
        Subject: Winter vaccination programme 2023/24

        Practices should order stock by Friday.
        """)
    assert m.sender == "Dr Helen Marsh"
    assert m.role == "Director of Primary Care"
    assert m.recipient == "All GP practices in the Wessex Downs area"
    assert m.date == "2023-09-01"
    assert m.subject == "Winter vaccination programme 2023/24"


def test_printed_email_reads_sent_line_as_the_date():
    m = meta("""
        From: Professor Alan Reeve <vc@marches.ac.uk>
        Sent: Thu 15/06/2023 09:12
        To: All staff
        Subject: Faculty of Science restructure

        Dear colleagues,

        I am writing to tell you about the restructure.

        Best wishes

        Professor Alan Reeve
        Vice-Chancellor
        """)
    assert m.date == "2023-06-15"
    assert m.subject == "Faculty of Science restructure"
    assert m.sender == "Professor Alan Reeve"
    assert m.role == "Vice-Chancellor"


def test_reference_table_and_named_addressee():
    m = meta("""
        Northshire Homes
        1 Quay Street
        Northtown NT1 2AB

        | Our ref | REP/2023/0417 |
        | Your ref | none |
        | Date | 13th March 2023 |

        Mrs Janet Okoye
        14 Elm Road
        Northtown NT3 4CD

        Dear Mrs Okoye,

        Damp and mould in your home

        Thank you for reporting the damp in your bedroom.

        Yours sincerely

        Sam Price
        pp David Lowe
        Head of Repairs, Northshire Homes
        """)
    assert m.reference == "REP/2023/0417"
    assert m.date == "2023-03-13"
    assert m.recipient == "Mrs Janet Okoye"
    assert m.subject == "Damp and mould in your home"
    assert m.sender == "David Lowe"  # "pp": signed by Sam Price on behalf of the author
    assert m.role == "Head of Repairs"
    assert m.organisation == "Northshire Homes"


def test_numeric_and_american_dates():
    assert meta("Date: 22.11.2022\n\nDear Sir or Madam,\n\nText.\n").date == "2022-11-22"
    assert meta("Jan 5, 2024\n\nDear Mr Hale,\n\nText.\n").date == "2024-01-05"
    assert meta("6 Sept 2022\n\nDear Sir or Madam,\n\nText.\n").date == "2022-09-06"


def test_generic_salutation_falls_back_to_the_address_block():
    m = meta("""
        3 July 2022

        Highways Department
        Northshire County Council

        Dear Sir or Madam,

        The junction at Mill Lane is dangerous.

        Yours faithfully
        """)
    assert m.recipient == "Highways Department"
    assert m.sender is None  # the letter ends with no signature


@pytest.mark.parametrize("closing", ["Yours sincerely", "Kind regards", "Yours faithfully,"])
def test_signature_block_under_any_close(closing):
    m = meta(f"""
        Dear Ms Shah,

        Thank you for your letter.

        {closing}

        Cllr Robert Ainsworth OBE
        Chair, Northshire Police and Crime Panel
        """)
    assert m.sender.startswith("Cllr Robert Ainsworth")
    assert m.recipient == "Ms Shah"
