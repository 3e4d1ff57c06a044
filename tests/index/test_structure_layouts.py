"""Letter structure, layout by layout: small letters written here, each set out the way some sender does
it, and the parts (with offsets) a reader would point to."""
from __future__ import annotations

import json
import textwrap

import pytest

from index.entities import extract_entities
from index.metadata import extract_metadata
from index.organisation import WEIGHTS_FILE, Candidate, choose_organisation, load_weights
from index.structure import Part, read_structure


def letter(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def parts(text: str):
    text = letter(text)
    return text, read_structure(text, extract_entities([text])[0])


def of(text: str, part: Part | None) -> str | None:
    return part.of(text) if part is not None else None


# --- labelled lines ---------------------------------------------------------------------------------
def test_reference_table_read_from_a_pdf_has_no_separators():
    m = extract_metadata(letter("""
        Northshire Water Regulator
        1 Quay Street
        Northtown NT1 2AB
        Ms Deborah Vane
        Chief Executive
        Vale Water Limited
        Worcester WR1 3PX
        Our ref ENF-2023-017
        Your ref MVW/REG/0593
        Date 1 August 2023
        Dear Ms Vane,
        Investigation into Vale Water's management of its wastewater treatment
        works: notice of proposed penalty
        1. I am writing to set out the outcome of our investigation.
        """))
    assert m.reference == "ENF-2023-017"
    assert m.date == "2023-08-01"
    assert m.recipient == "Ms Deborah Vane"
    # the heading wraps in PDF text; its second line starts in lower case and is joined
    assert m.subject == "Investigation into Vale Water's management of its wastewater treatment works: notice of proposed penalty"


def test_a_sentence_that_starts_like_a_label_is_not_one():
    text, s = parts("""
        Date application received 09/06/2022
        Reference the meeting we held last week, nothing was decided.

        Dear Sir or Madam,

        Text.
        """)
    assert s.reference is None
    assert "date" not in s.labelled


def test_our_reference_outranks_a_claim_reference_and_any_ref_label_counts():
    text, s = parts("""
        | Claim reference | CTR/22/05518 |
        | Our ref | REV/7781 |
        | Your ref | JH/22 |

        Dear Mr Hale,

        Text.
        """)
    assert of(text, s.reference) == "REV/7781"
    assert of(text, s.their_reference) == "JH/22"
    text, s = parts("""
        **To:** All practices
        **Memo ref:** WD-PC/MEMO/2023/117

        Text.
        """)
    assert of(text, s.reference) == "WD-PC/MEMO/2023/117"


# --- address blocks, recipient ----------------------------------------------------------------------
def test_notice_without_a_salutation_finds_the_address_block_by_its_postcode():
    text, s = parts("""
        Tewkesbury Borough Council | Development Management
        Tewkesbury Borough Council
        Council Offices, Gloucester Road, Tewkesbury GL20 5TT
        Telephone: 01632 960 271
        TOWN AND COUNTRY PLANNING ACT 1990
        NOTICE OF REFUSAL OF PLANNING PERMISSION
        5 October 2022
        Mr Rhys Pemberton
        Pemberton Planning Associates
        Cheltenham
        GL50 1TA
        Application number 22/00874/FUL
        The council refuses permission for the reasons below.
        """)
    assert of(text, s.recipient) == "Mr Rhys Pemberton"
    assert of(text, s.recipient_address) == "Mr Rhys Pemberton\nPemberton Planning Associates\nCheltenham\nGL50 1TA"
    assert of(text, s.sender_address) == "Tewkesbury Borough Council\nCouncil Offices, Gloucester Road, Tewkesbury GL20 5TT"
    assert of(text, s.letterhead) == ("Tewkesbury Borough Council | Development Management\nTewkesbury Borough Council\n"
                                      "Council Offices, Gloucester Road, Tewkesbury GL20 5TT\nTelephone: 01632 960 271")
    assert of(text, s.reference) == "22/00874/FUL"
    # the statute above it is the power the notice is given under, not its subject
    assert of(text, s.subject) == "NOTICE OF REFUSAL OF PLANNING PERMISSION"
    assert s.date_iso == "2022-10-05"


def test_address_block_above_a_table_and_a_heading():
    m = extract_metadata(letter("""
        CRAVEN DISTRICT COUNCIL
        1 Belle Vue Square, Skipton BD23 1FJ
        Tel: 01756 700 600

        Mr D Haworth
        14 Aireview Close
        Skipton
        BD23 2TQ

        Date: 03/07/2022

        COUNCIL TAX REDUCTION - NOTICE OF DECISION

        | Claim reference | CTR/22/05518 |

        Dear Sir or Madam

        We have assessed your application.
        """))
    assert m.recipient == "Mr D Haworth"
    assert m.subject == "COUNCIL TAX REDUCTION - NOTICE OF DECISION"
    assert m.reference == "CTR/22/05518"


def test_protective_marking_is_not_the_subject():
    m = extract_metadata(letter("""
        HM Prison & Probation Service
        58 College Road, Maidstone ME15 6SJ

        PRIVATE AND CONFIDENTIAL

        Mrs Carol Denning
        7 Orchard Rise
        Sittingbourne
        ME10 4PL

        Dear Mrs Denning

        I am writing about the scheme.
        """))
    assert m.subject is None
    assert m.recipient == "Mrs Carol Denning"


def test_audience_salutation_names_the_recipient_only_without_an_address():
    assert extract_metadata("St Aidan's Primary School\n\nDear Parents and Carers,\n\nThe hall will close.\n").recipient \
        == "Parents and Carers"
    assert extract_metadata("St Aidan's Primary School\n\nDear Sir or Madam,\n\nThe hall will close.\n").recipient is None


def test_for_the_attention_of_is_not_part_of_the_name():
    m = extract_metadata(letter("""
        FAO Jonathan Prewett
        Planning Department
        London Road
        Saffron Walden CB11 4ER

        Dear Mr Prewett,

        We object to the application.
        """))
    assert m.recipient == "Jonathan Prewett"


# --- subject ----------------------------------------------------------------------------------------
def test_subject_block_skips_the_statute_and_labelled_details():
    m = extract_metadata(letter("""
        Dear Mr Wren,

        Town and Country Planning Act 1990
        Appeal by Mrs Cassandra Lyle
        Site address: Brook Barn, Coggins Mill Lane, Mayfield TN20 6UH

        I have checked the above appeal and it is valid.
        """))
    assert m.subject == "Appeal by Mrs Cassandra Lyle"


def test_pdf_subject_followed_by_a_section_heading_keeps_the_subject():
    m = extract_metadata("Dear Secretary of State,\nBus franchising in the West of England\nBackground\n"
                         "Bus use in our region has not recovered from the pandemic.\n")
    assert m.subject == "Bus franchising in the West of England"


@pytest.mark.parametrize("heading, subject", [
    ("The Victim Contact Scheme", "The Victim Contact Scheme"),  # starts like a sentence, set out as a title
    ("Thank you for your letter of 3 May.", None),                 # the body's first sentence
])
def test_a_line_under_the_salutation_is_a_subject_when_it_reads_as_a_title(heading, subject):
    assert extract_metadata(f"Dear Mrs Denning\n\n{heading}\n\nMy name is Priya and I write about the scheme.\n").subject == subject


# --- memo and e-mail headers ------------------------------------------------------------------------
def test_memo_from_line_gives_name_role_and_organisation():
    m = extract_metadata(letter("""
        Cumbria Local Resilience Forum
        MEMORANDUM

        To: All responder organisations
        From: Rachel Dunmore, LRF Manager, Cumbria LRF Secretariat
        Date: September 12, 2023
        Subject: Exercise Eden Surge

        1. Purpose
        """))
    assert (m.sender, m.role) == ("Rachel Dunmore", "LRF Manager")
    assert m.date == "2023-09-12"
    assert m.organisation == "Cumbria Local Resilience Forum"  # the letterhead, not the team in the From: line


# --- signature block --------------------------------------------------------------------------------
def test_pp_signature_records_who_signed_and_on_whose_behalf():
    text, s = parts("""
        Dear Mr Hale,

        Your repair is booked.

        Yours sincerely

        Sam Price
        pp David Lowe
        Head of Repairs
        for and on behalf of Northshire Homes
        """)
    assert of(text, s.sender) == "David Lowe"
    assert of(text, s.signed_by) == "Sam Price"
    assert of(text, s.on_behalf_of) == "Northshire Homes"
    assert of(text, s.role) == "Head of Repairs"
    assert of(text, s.body) == "Your repair is booked."


def test_role_with_a_comma_above_an_organisation_line_is_one_role():
    m = extract_metadata(letter("""
        Dear Ms Vane,

        Text of the letter.

        Yours sincerely,
        Catherine Aldous
        Senior Director, Enforcement
        Ofwat
        """))
    assert m.role == "Senior Director, Enforcement"


def test_cc_and_enclosures_after_the_signature():
    text, s = parts("""
        Dear Minister,

        Text of the letter.

        Yours sincerely

        Andrew Carrick
        Chief Constable

        Enc: Reply form
        cc: Philip Ashdown, Police and Crime Commissioner
        """)
    assert of(text, s.cc) == "Philip Ashdown, Police and Crime Commissioner"
    assert of(text, s.enclosures) == "Reply form"
    assert s.date is None and s.date_iso is None  # the letter is not dated


# --- "Response by X:" sections ----------------------------------------------------------------------
def test_response_sections_with_the_item_each_answers():
    text, s = parts("""
        Dear Sir Thomas,

        1. The force should record stalking
        correctly at first contact.

        Response by the Commissioner:
        I accept this recommendation.

        2. Victims should be offered an advocate.

        Response by the Commissioner:
        I partly accept this recommendation.

        Yours sincerely
        """)
    assert [of(text, r.who) for r in s.responses] == ["the Commissioner", "the Commissioner"]
    assert [of(text, r.text) for r in s.responses] == ["I accept this recommendation.", "I partly accept this recommendation."]
    assert of(text, s.responses[0].item) == "1. The force should record stalking\ncorrectly at first contact."
    assert of(text, s.responses[1].item) == "2. Victims should be offered an advocate."


# --- organisation -----------------------------------------------------------------------------------
def test_organisation_is_the_letterhead_body_not_its_office_or_a_footer_list():
    m = extract_metadata(letter("""
        WEST MERCIA POLICE
        Office of the Chief Constable
        Hindlip Hall, Worcester WR3 8SP

        Ms Rebecca Halloran MP
        House of Commons
        London SW1A 0AA

        Dear Ms Halloran

        Thank you for your letter.

        Yours sincerely

        Andrew Carrick QPM
        Chief Constable

        BOLTON\tBURY\tMANCHESTER\tOLDHAM\tSALFORD
        """))
    assert m.organisation == "WEST MERCIA POLICE"


def test_letterhead_line_is_cut_at_its_separator():
    m = extract_metadata(letter("""
        West of England Combined Authority - Office of the Mayor
        Caroline Petheridge
        Mayor of the West of England
        Tuesday 14 November 2023
        Dear Secretary of State,
        Bus franchising in the West of England
        I am writing to ask for your support.
        Yours sincerely,
        Caroline Petheridge
        Mayor of the West of England
        """))
    assert m.organisation == "West of England Combined Authority"


def test_choosing_an_organisation_weighs_the_candidates_features():
    a, b = Candidate(Part(0, 5), {"letterhead": 1.0}), Candidate(Part(10, 20), {"signature": 1.0})
    assert choose_organisation([a, b], {"letterhead": 2.0, "signature": 1.0}) == Part(0, 5)
    assert choose_organisation([a, b], {"letterhead": -1.0, "signature": 1.0}) == Part(10, 20)
    assert choose_organisation([a, b], {}) is None  # no model: the layout rules decide
    assert choose_organisation([], {"letterhead": 1.0}) is None


def test_shipped_weights_say_what_they_were_fitted_on():
    saved = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert "train" in saved["provenance"]["fitted_on"] and saved["provenance"]["command"]
    assert load_weights() == {k: float(v) for k, v in saved["weights"].items()} and load_weights()["letterhead_rank"] > 0


def test_tribunal_to_line_lists_the_parties_and_the_first_is_the_addressee():
    m = extract_metadata(letter("""
        To: Mr D Okafor-Reid (Claimant) and Brindley Logistics Limited (Respondent)
        Date: 4 March 2024

        Dear Sirs,

        A preliminary hearing has been listed.
        """))
    assert m.recipient == "Mr D Okafor-Reid"


def test_reference_from_the_reply_or_the_subject_when_the_sender_gives_none():
    assert extract_metadata("Your ref: UTT/22/2147/OP\n\nDear Mr Prewett,\n\nWe object.\n").reference == "UTT/22/2147/OP"
    m = extract_metadata("Dear Mr Prewett,\n\n**Planning application UTT/22/2147/OP, Land at Chickney Road**\n\nWe object.\n")
    assert m.reference == "UTT/22/2147/OP"


def test_dear_minister_takes_the_name_from_the_address_block():
    m = extract_metadata(letter("""
        Open Doors Youth Alliance
        12 Kirkgate, Leeds LS1 6BY

        Rt Hon Alastair Penhaligon MP
        Minister for Civil Society and Youth
        Department for Culture, Media and Sport
        100 Parliament Street
        London SW1A 2BQ

        14 November 2022

        Dear Minister,

        Youth services funding

        We write about youth services.
        """))
    assert m.recipient == "Rt Hon Alastair Penhaligon MP"
    assert m.subject == "Youth services funding"


_MARKDOWN_LETTER = """# Open Doors Youth Alliance

12 Kirkgate, Leeds LS1 6BY

{block}

14 November 2022

Dear Minister,

We write about youth services.
"""


@pytest.mark.parametrize("block", [
    "**Rt Hon Alastair Penhaligon MP**  \nMinister for Civil Society and Youth  \n100 Parliament Street  \nLondon SW1A 2BQ",
    "Rt Hon Alastair Penhaligon MP\\\nMinister for Civil Society and Youth\\\n100 Parliament Street\\\nLondon SW1A 2BQ",
    "Rt Hon Alastair Penhaligon MP\n\nMinister for Civil Society and Youth\n\n100 Parliament Street\n\nLondon SW1A 2BQ",
    "Rt Hon Alastair Penhaligon MP, Minister for Civil Society and Youth, 100 Parliament Street, London SW1A 2BQ",
], ids=["trailing-spaces", "backslash-breaks", "one-line-paragraphs", "one-line-address"])
def test_markdown_address_blocks_however_the_lines_are_broken(block):
    assert extract_metadata(_MARKDOWN_LETTER.format(block=block)).recipient == "Rt Hon Alastair Penhaligon MP"


def test_labelled_cell_beside_an_address_cell_in_a_table_row():
    for row in ("| Mr J Hale | Our ref: ODYA/22/31 |", "Mr J Hale\tOur ref: ODYA/22/31"):
        assert extract_metadata(f"{row}\n\nDear Mr Hale,\n\nText.\n").reference == "ODYA/22/31"


def test_ministers_letter_under_a_protective_marking():
    m = extract_metadata(letter("""
        OFFICIAL

        Rt Hon Simon Hoare MP
        Minister for Local Government
        Department for Levelling Up, Housing and Communities
        2 Marsham Street
        London SW1P 4DF

        To: Leaders of all English local authorities

        18 December 2023

        Dear Council Leader,

        PROVISIONAL LOCAL GOVERNMENT FINANCE SETTLEMENT 2024-25

        Today I have published the provisional settlement.

        Yours sincerely,

        SIMON HOARE MP
        """))
    assert m.organisation == "Department for Levelling Up, Housing and Communities"  # not the marking above it
    assert m.reference is None  # "2024-25" in the heading is a year, not a reference
    assert m.recipient == "Leaders of all English local authorities"
    assert m.subject == "PROVISIONAL LOCAL GOVERNMENT FINANCE SETTLEMENT 2024-25"


@pytest.mark.parametrize("block", [
    "| | |\n|---|---|\n| Rt Hon Alastair Penhaligon MP | Our ref: ODYA/22/31 |\n"
    "| Minister for Civil Society and Youth | Date: 14 November 2022 |\n| 100 Parliament Street, London SW1A 2BQ | |",
    "Rt Hon Alastair Penhaligon MP\tOur ref: ODYA/22/31\nMinister for Civil Society and Youth\tDate: 14 November 2022\n"
    "100 Parliament Street, London SW1A 2BQ",
], ids=["markdown-table", "word-table"])
def test_address_set_beside_the_references_in_a_table(block):
    m = extract_metadata(_MARKDOWN_LETTER.format(block=block))
    assert (m.recipient, m.reference) == ("Rt Hon Alastair Penhaligon MP", "ODYA/22/31")


# --- signature blocks in other layouts --------------------------------------------------------------
def test_organisation_line_above_the_role_in_the_signature():
    m = extract_metadata(letter("""
        Northshire County Council
        County Hall, Northtown NT1 1AA

        12 March 2024

        Dear Ms Patel,

        Thank you for your letter about the library service.

        Yours sincerely,

        Jane Okafor
        Northshire County Council
        Director of Public Health
        """))
    assert (m.sender, m.role, m.organisation) == ("Jane Okafor", "Director of Public Health", "Northshire County Council")


def test_two_signatories_the_first_is_the_sender():
    m = extract_metadata(letter("""
        Dear Mr Lee,

        We write jointly about the merger.

        Yours sincerely,

        Margaret Hughes
        Chair

        David Brennan
        Chief Executive
        """))
    assert (m.sender, m.role) == ("Margaret Hughes", "Chair")


def test_e_mail_sign_off_on_one_line_with_separators():
    m = extract_metadata(letter("""
        From: Priya Shah
        Sent: 14 February 2024 09:12
        To: Tom Reid
        Subject: Parking permits for residents

        Hi Tom,

        The new permits go live on 1 April.

        Kind regards,
        Priya Shah | Parking Services Manager | Westbridge Borough Council
        """))
    assert (m.sender, m.role, m.organisation) == ("Priya Shah", "Parking Services Manager", "Westbridge Borough Council")
    assert (m.recipient, m.date, m.subject) == ("Tom Reid", "2024-02-14", "Parking permits for residents")


@pytest.mark.parametrize("close", ["Thanks,", "Many thanks", "Best wishes,", "Cheers", "All the best"])
def test_e_mail_closes_end_the_body(close):
    m = extract_metadata(letter(f"""
        Hello all,

        The office move is now confirmed for the week of 6 May.

        {close}

        Sam Holloway
        Facilities Lead
        Riverside Housing Trust
        sam.holloway@riverside.example.org
        """))
    assert (m.sender, m.role, m.organisation) == ("Sam Holloway", "Facilities Lead", "Riverside Housing Trust")
    assert m.recipient is None  # "all" names nobody


def test_for_and_on_behalf_of_above_the_name():
    m = extract_metadata(letter("""
        Acme Surveyors Ltd
        4 Mill Lane, Leeds LS1 4AB

        3 May 2023

        Dear Sir or Madam,

        Please find our report enclosed.

        Yours faithfully,

        for and on behalf of Acme Surveyors Ltd

        Peter Walsh
        Senior Partner
        """))
    assert (m.sender, m.role, m.organisation) == ("Peter Walsh", "Senior Partner", "Acme Surveyors Ltd")


def test_name_and_role_on_one_line_above_a_cc_list():
    # the entity model may tag the name as an organisation; the words before the comma are never
    # written in lower case in the letter, so they are a proper name
    m = extract_metadata(letter("""
        Dear Mr Brennan

        I welcome the inspection of custody in Cumbria and accept its findings.

        Yours sincerely
        Davina Lowther, Police, Fire and Crime Commissioner for Cumbria
        cc: Chief Constable Mark Ellwood, Cumbria Constabulary
        """))
    assert (m.sender, m.role) == ("Davina Lowther", "Police, Fire and Crime Commissioner for Cumbria")


@pytest.mark.xfail(strict=True, reason="a capitalised role before a comma reads as a name when the model tags "
                                        "no person and the letter never uses its words in lower case")
def test_a_role_and_organisation_after_a_comma_are_not_a_name():
    m = extract_metadata(letter("""
        Dear Mr Khan,

        Your application has been approved and your licence is enclosed.

        Yours sincerely,

        Chief Executive, Northshire Council
        """))
    assert m.sender is None


def test_name_alone_under_the_close_takes_its_title_from_the_letterhead():
    m = extract_metadata(letter("""
        Home Office
        Rt Hon Geoffrey Marlow MP
        Minister of State for Crime, Policing and Fire
        2 Marsham Street
        London SW1P 4DF
        Our ref: MIN/0087412/22
        Anna Whitlock MP
        House of Commons
        London SW1A 0AA
        24 October 2022
        Dear Anna,
        Thank you for your letter of 29 September about rural crime.
        Yours ever,
        Rt Hon Geoffrey Marlow MP
        """))
    assert m.sender == "Rt Hon Geoffrey Marlow MP"
    assert m.role == "Minister of State for Crime, Policing and Fire"


# --- subject lines in other layouts -----------------------------------------------------------------
@pytest.mark.parametrize("line", ["Re. Land at Hollow Farm, Ashby", "RE - Land at Hollow Farm, Ashby",
                                  "Subject - Land at Hollow Farm, Ashby", "**RE: Land at Hollow Farm, Ashby**"])
def test_subject_set_off_by_re_or_a_dash_above_the_salutation(line):
    m = extract_metadata(letter(f"""
        Our Ref: PL/22/0041
        Date: 14 March 2024

        {line}

        Dear Sir,

        I am writing to you about the land.

        Yours faithfully

        Mark Thornton
        """))
    assert (m.subject, m.reference) == ("Land at Hollow Farm, Ashby", "PL/22/0041")


@pytest.mark.parametrize("heading", ["Proposed closure of Brook Street car park", "**Proposed closure of Brook Street car park**",
                                     "__Proposed closure of Brook Street car park__", "## Proposed closure of Brook Street car park",
                                     "RE - Proposed closure of Brook Street car park"])
def test_subject_heading_after_the_salutation(heading):
    m = extract_metadata(letter(f"""
        14 March 2024

        Dear Councillor Ahmed,

        {heading}

        I am writing to you about the proposed closure of the car park.

        Yours sincerely

        Mark Thornton
        """))
    assert m.subject == "Proposed closure of Brook Street car park"


def test_labelled_subject_that_wraps_onto_the_next_lines():
    m = extract_metadata(letter("""
        Little Ashby Parish Council
        The Village Hall, Main Street, Little Ashby LE65 2RT
        Tuesday 16 May 2023
        Dear Mr Yarwood
        Subject: Objection to planning application 23/00562/FUL – erection of a storage and
        distribution warehouse with 96 HGV parking spaces, land at Glebe Farm, Moira Lane,
        Little Ashby
        Little Ashby Parish Council objects to this application. The Council considered it at an
        extraordinary meeting held in the village hall on 11 May 2023, attended by 64 residents.
        """))
    assert m.subject == ("Objection to planning application 23/00562/FUL – erection of a storage and "
                         "distribution warehouse with 96 HGV parking spaces, land at Glebe Farm, Moira Lane, Little Ashby")


def test_a_date_in_the_subject_is_not_its_reference():
    m = extract_metadata(letter("""
        10 October 2023

        Dear Dr Evans

        Re: Referral of Mr John Smith, DOB 01/02/1960

        Thank you for referring this patient.

        Yours sincerely

        Dr Anna Kowalski
        Consultant Cardiologist
        """))
    assert m.subject == "Referral of Mr John Smith, DOB 01/02/1960"
    assert m.reference is None
    assert (m.sender, m.role) == ("Dr Anna Kowalski", "Consultant Cardiologist")


def test_a_title_the_letter_repeats_below_stays_in_the_address_block():
    # the copy list repeats the minister's title, so the line is "boilerplate"; it still belongs to the
    # address block between the name and the department
    m = extract_metadata(letter("""
        **Open Doors Youth Alliance**
        Unit 12, The Foundry, London SE1 8EN

        30 November 2022

        Rt Hon Alastair Penhaligon MP
        Minister for Civil Society and Youth
        Department for Culture, Media and Sport
        London SW1A 2BQ

        Dear Minister,

        Thank you for speaking at our conference. We write about the pressures on youth clubs.

        Yours sincerely,

        Marcia Okonjo-Reeve
        Chief Executive

        Copies:
        Minister for Civil Society and Youth
        """))
    assert m.recipient == "Rt Hon Alastair Penhaligon MP"
