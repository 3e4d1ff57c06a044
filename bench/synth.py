"""Deterministic synthetic corpus of PCC / mayor responses to HMICFRS reports.

Used for scale benchmarks of Letters QA.  Every letter is a pure function of
``(i, seed)``: ``generate_letter(i, seed)`` draws everything from
``random.Random(f"{seed}:{i}")`` (plus a few per-area/per-term streams that are
themselves seeded from ``seed``), so letters can be generated in any order or in
parallel and are always identical.

The people, police force areas and combined authorities are invented.  Report
titles imitate the style of real HMICFRS publications.

CLI::

    python -m bench.synth --out DIR --n 1000 [--seed 0] [--pdf-every 50] [--docx-every 100]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import random
import re
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SynthLetter",
    "generate_letter",
    "letter_format",
    "write_corpus",
    "render_pdf",
    "render_docx",
    "main",
]

# ---------------------------------------------------------------------------
# Inline markers (rendered differently per output format)
# ---------------------------------------------------------------------------
B0, B1 = "\x02", "\x03"  # bold
I0, I1 = "\x04", "\x05"  # italic
S0, S1 = "\x0e", "\x0f"  # superscript (ordinal suffix in dates)
L0, LSEP, L1 = "\x06", "\x1f", "\x07"  # link: L0 label LSEP url L1

_LINK_RE = re.compile(L0 + "([^" + LSEP + "]*)" + LSEP + "([^" + L1 + "]*)" + L1)

# ---------------------------------------------------------------------------
# Vocabulary: places, people, organisations
# ---------------------------------------------------------------------------
# (area, force name, town, street address, postcode, phone prefix, commissioner kind)
# kind: "pcc" or "pfcc" (police, fire and crime commissioner)
AREAS: list[tuple[str, str, str, str, str, str, str]] = [
    ("Avonmere", "Avonmere Constabulary", "Melbury", "14 Abbey Walk", "AV1 3QT", "01179", "pcc"),
    ("Blackmoor Vale", "Blackmoor Vale Police", "Sturford", "Beacon House, 2 Mill Lane", "BV4 7HN", "01258", "pcc"),
    ("Caldershire", "Caldershire Constabulary", "Halbridge", "Ryecroft House, 61 George Street", "CD1 1DL", "01422", "pfcc"),
    ("Dunmore", "Dunmore Police", "Dunmore", "The Old Court House, Castle Street", "DN2 5RS", "01302", "pcc"),
    ("East Harrowshire", "East Harrowshire Constabulary", "Harrowgate", "Winchcombe House, 9 Priory Road", "EH3 8JP", "01423", "pcc"),
    ("Fenland Marches", "Fenland Marches Police", "Wisborough", "Riverside Chambers, Quay Street", "FM1 2LW", "01945", "pcc"),
    ("Glenford", "Glenford Constabulary", "Glenford", "Kingsway House, 3 Bridge Street", "GF5 0AA", "01452", "pfcc"),
    ("Hartwell", "Hartwell Police", "Hartwell", "Eden House, 120 London Road", "HW1 4EE", "01432", "pcc"),
    ("Ivelshire", "Ivelshire Constabulary", "Ivelchester", "Summerleaze, Yeo Road", "IV2 9TT", "01935", "pcc"),
    ("Kestrelmoor", "Kestrelmoor Police", "Moorhampton", "Granite House, 1 Tavy Street", "KM7 3PG", "01822", "pcc"),
    ("Lindenshire", "Lindenshire Police", "Lindford", "Deepdale Lane", "LN2 2LT", "01522", "pcc"),
    ("Marwick", "Marwick Constabulary", "Marwick", "Saxon House, 12 Warwick Road", "MW3 6BX", "01926", "pfcc"),
    ("North Ashdown", "North Ashdown Police", "Crowbridge", "Forest Gate, 44 High Street", "NA6 1FF", "01892", "pcc"),
    ("Oakenfold", "Oakenfold Constabulary", "Oakenfold", "The Chantry, 5 Church Lane", "OK1 9QS", "01604", "pcc"),
    ("Pendlebrook", "Pendlebrook Constabulary", "Pendleton", "Hutton Hall, Ribble Way", "PB8 5UJ", "01772", "pcc"),
    ("Queensmoor", "Queensmoor Police", "Queensport", "Harbour House, 7 Dock Road", "QM4 2HX", "01752", "pcc"),
    ("Ravensdale", "Ravensdale Police", "Ravensby", "Carleton Hall, Penrose Road", "RD1 1XD", "01768", "pfcc"),
    ("Severnshire", "Severnshire Police", "Severnbridge", "Malvern View, 18 Foregate Street", "SV9 4RL", "01905", "pcc"),
    ("Thornbury Downs", "Thornbury Downs Constabulary", "Thornbury", "Downland House, Eastgate", "TD2 8NN", "01722", "pcc"),
    ("Upper Wyvern", "Upper Wyvern Police", "Wyvernton", "Castle Keep, 3 Tower Street", "UW5 6AB", "01743", "pcc"),
    ("Valeborough", "Valeborough Constabulary", "Valeborough", "Guildhall Annexe, Market Place", "VB1 3CE", "01234", "pcc"),
    ("Westmarch", "Westmarch Police", "Westmarch", "Marcher House, 21 Broad Street", "WM7 2PQ", "01597", "pfcc"),
    ("Wyecombe", "Wyecombe Constabulary", "Wyecombe", "Riverside House, Ferry Lane", "WC3 9HJ", "01989", "pcc"),
    ("Yarrowshire", "Yarrowshire Police", "Yarrow", "Sessions House, 2 Lowther Street", "YR1 5KD", "01904", "pcc"),
    ("Ashby Wolds", "Ashby Wolds Constabulary", "Ashby Magna", "Wolds Court, 10 Station Road", "AW2 7GS", "01530", "pcc"),
    ("Bramblecoast", "Bramblecoast Police", "Bramble Bay", "Seafront Chambers, The Parade", "BC6 4SE", "01843", "pcc"),
    ("Cheviot Reach", "Cheviot Reach Police", "Alnbury", "Border House, 6 Bondgate", "CR4 1NE", "01665", "pcc"),
    ("Deverill", "Deverill Constabulary", "Deverill St Mary", "Longleat Road", "DV1 2WR", "01985", "pcc"),
    ("Eskmoor", "Eskmoor Police", "Eskby", "Whitcliffe House, 33 Skinner Street", "EK2 3YO", "01947", "pcc"),
    ("Foxhollow", "Foxhollow Constabulary", "Foxhollow", "Tannery House, 8 Bridge End", "FX5 5BH", "01629", "pfcc"),
    ("Greywater", "Greywater Police", "Greywater", "Lakeside House, Ambleford Road", "GW1 8LA", "01539", "pcc"),
    ("Hollinshire", "Hollinshire Constabulary", "Hollingbury", "Peel Chambers, 4 Queen Street", "HL3 3MC", "01782", "pcc"),
    ("Kingsholm", "Kingsholm Police", "Kingsholm", "Westgate House, 90 Westgate Street", "KH6 2GL", "01452", "pcc"),
    ("Larkshire", "Larkshire Constabulary", "Larkbury", "Meadow House, 2 Lark Rise", "LK1 6OX", "01865", "pcc"),
    ("Mallory Fields", "Mallory Fields Police", "Mallory", "Cornmarket Chambers, 15 Sheep Street", "MF2 4CV", "01788", "pcc"),
    ("Norbury Wold", "Norbury Wold Constabulary", "Norbury", "Wold House, Beverley Gate", "NW8 1HU", "01482", "pcc"),
    ("Pennine Fells", "Pennine Fells Police", "Skelbeck", "Fellside House, 12 Raikes Road", "PF3 9BD", "01756", "pcc"),
    ("Redcliffe Sands", "Redcliffe Sands Constabulary", "Redcliffe", "Lighthouse Court, North Promenade", "RS4 2FY", "01253", "pcc"),
    ("Sallowfield", "Sallowfield Police", "Sallow", "Minster Chambers, 3 Deangate", "SF7 7YO", "01377", "pcc"),
    ("Tamarisk", "Tamarisk Constabulary", "Tamport", "Harbourside, 19 Quay Hill", "TM5 1TR", "01872", "pcc"),
]

# Mayoral combined authorities with policing functions:
# (area, combined authority, abbreviation, force, address line, boroughs)
COMBINED: list[tuple[str, str, str, str, str, tuple[str, ...]]] = [
    ("Greater Northam", "Greater Northam Combined Authority", "GNCA", "Greater Northam Police",
     "GNCA, Cotton Exchange House, 40 Portland Street, Northam, NM1 6EU",
     ("NORTHAM", "ASHCROFT", "BRADLEY", "CHURCHTOWN", "DALESIDE", "ELMWOOD", "FARNLEY", "HEATON MOOR", "IRWELL", "KIRKBY")),
    ("West Ridings", "West Ridings Combined Authority", "WRCA", "West Ridings Police",
     "WRCA, Wellington House, 40 Wellington Street, Ledsham, LS1 2DE",
     ("LEDSHAM", "CALDERBROOK", "HOLMEFIRTH VALE", "KIRKHEATON", "WAKEHAM")),
    ("Mersey Vale", "Mersey Vale Combined Authority", "MVCA", "Mersey Vale Police",
     "MVCA, No. 1 Mann Island, Liverbridge, LB3 1BP",
     ("LIVERBRIDGE", "HALEWOOD", "KNOWSBY", "SEFTON PARK", "ST HELENSBURY", "WIRRAL BANK")),
    ("South Pennine", "South Pennine Mayoral Combined Authority", "SPMCA", "South Pennine Police",
     "SPMCA, 11 Broad Street West, Sheffham, SH3 2BQ",
     ("SHEFFHAM", "BARNSDALE", "DONVALE", "ROTHERBY")),
    ("York and North Ridings", "York and North Ridings Combined Authority", "YNRCA", "North Ridings Police",
     "YNRCA, West Offices, Station Rise, Yorvik, YO1 6GA",
     ("YORVIK", "HARROGATE SPA", "SCARBOROUGH BAY", "RICHMONDSHIRE", "SELBY FIELDS")),
]

FIRST_NAMES = (
    "Alison Andrew Angela Anthony Bernadette Caroline Catherine Christopher Claire Colin David Deborah "
    "Donna Elaine Emma Fiona Gareth Geoffrey Gillian Graham Hannah Helen Ian Imran Jacqueline James Janet "
    "Jason Jennifer Joanne John Jonathan Judith Julia Karen Katy Keith Kevin Lesley Lisa Marcus Margaret "
    "Martin Matthew Michael Nadia Neil Nicola Patrick Paul Philip Priya Rachel Rajesh Richard Robert "
    "Rosemary Ruth Sajid Sarah Simon Sophie Stephen Susan Tariq Teresa Thomas Victoria William Yasmin"
).split()
SURNAMES = (
    "Ainsworth Allerton Ashworth Barraclough Beaumont Bellamy Blackburn Bradshaw Brennan Calloway Chadwick "
    "Cheema Clegg Crowther Dalton Dawes Ellison Everett Fairclough Farrington Fenwick Gallagher Garside "
    "Gilmore Greenhalgh Hallam Hargreaves Haworth Holroyd Hussain Iqbal Jameson Kershaw Kilner Lacey "
    "Latimer Lockwood Mahmood Marsden Metcalfe Moorhouse Naylor Oldroyd Ormerod Pickersgill Pilling Quarmby "
    "Ramsden Redfern Riley Royle Sagar Schofield Shackleton Sowerby Stansfield Sutcliffe Tattersall "
    "Thackeray Tillotson Uttley Varley Wadsworth Whiteley Wilkinson Womersley Wrigley Yeadon"
).split()
POSTNOMINALS = ("", "", "", "", "", "", "", " OBE", " MBE", " QPM", " CBE", " JP")

CODEWORDS = (
    "Kestrel Bluebell Harbour Lantern Beacon Compass Meridian Sentinel Orchard Juniper Heron Willow "
    "Falcon Granite Horizon Anchor Bramble Cobalt Dovetail Emerald Foxglove Garnet Hawthorn Ivy Jasper "
    "Kingfisher Lighthouse Magpie Nightingale Osprey Pennant Quartz Rowan Sapphire Thistle Umbrella "
    "Vanguard Wren Yarrow Zephyr Encompass Sceptre Tarian Bridge Crest Harmony Lodestar Northstar "
    "Castle Shield Signal Threshold Keystone Pathway Mosaic Sanctuary Ember Aurora"
).split()
PROG_NOUNS = (
    "Early Help Hub", "Safer Streets Partnership", "Hidden Harm Programme", "Community Safety Accelerator",
    "Victim Navigator Service", "Violence Reduction Network", "Harm Reduction Hub", "Youth Diversion Scheme",
    "Safer Neighbourhoods Fund", "Reducing Reoffending Programme", "Trauma-Informed Practice Programme",
    "Community Trigger Review", "Restorative Justice Service", "Integrated Offender Management Scheme",
)
FUNDS = (
    "Safer Communities Fund", "Community Safety Fund", "Victims' Services Fund", "Commissioner's Grant Scheme",
    "Prevention Fund", "Youth Intervention Fund", "Innovation Fund", "Reserves Strategy", "Proceeds of Crime Fund",
)
HO_FUNDS = (
    "Safer Streets Fund", "Police Transformation Fund", "Violence Reduction Unit grant",
    "Domestic Abuse Perpetrator Intervention Fund", "Serious Violence Duty grant", "Police Uplift Programme grant",
)
BOARDS = (
    "Local Criminal Justice Board", "Regional Organised Crime Unit Governance Board",
    "Community Safety Partnership Chairs' Forum", "Safeguarding Adults Board",
    "Local Safeguarding Children Partnership", "Violence Reduction Unit Strategic Board",
    "National Counter Terrorism Collaboration Agreement Strategic Board", "Reducing Reoffending Board",
    "Strategic CONTEST Board", "Health and Wellbeing Board", "Joint Audit Committee",
)
PARTNERS = (
    "local authorities", "the NHS integrated care board", "the Crown Prosecution Service", "the probation service",
    "schools and colleges", "housing providers", "third sector organisations", "the fire and rescue service",
    "the ambulance trust", "faith and community groups", "the youth justice service", "specialist victim services",
    "the Office of the Police and Crime Commissioner", "district councils", "the local universities",
)
MONTHS = ("January February March April May June July August September October November December").split()
NUM_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
ADVISORS = (
    "Safeguarding Advisor", "Policy Officer", "Criminal Justice Lead", "Head of Commissioning",
    "Victims' Services Manager", "Performance and Scrutiny Manager", "Community Engagement Officer",
)
TRAINING = (
    "enhanced", "specialist", "refresher", "scenario-based", "accredited", "trauma-informed", "face-to-face",
)

# ---------------------------------------------------------------------------
# Inspection topics
# ---------------------------------------------------------------------------
# Each topic: label (noun phrase), title (may contain {force}/{area}/{year}), short
# name, officer kind, process and unit names, recommendations, areas for
# improvement, topic-specific sentences and bullet items.
TOPICS: dict[str, dict] = {
    "prevent": dict(
        label="Prevent", phrase="the police contribution to Prevent",
        title="Counter-terrorism policing \u2013 An inspection of the police\u2019s contribution to the government\u2019s Prevent programme",
        short="Prevent", officers="Prevent officers", unit="the Prevent team", crime="Prevent referrals",
        recs=("the NPCC Prevent lead and each force Prevent lead review the attendance of force representatives at Channel panels",
              "vulnerability to radicalisation is recognised as a core discipline of public protection",
              "forces make sure Prevent training for neighbourhood staff is consistent and up to date"),
        afis=("the quality of intelligence grading on Prevent referrals",
              "inconsistent links between Prevent and safeguarding teams"),
        sents=("Channel panels in {area} are owned and coordinated by the local authorities, and it is for each Channel Chair to decide the make-up of the panel.",
               "Police attendance at Channel panels is monitored by each district through a dedicated Prevent Sergeant.",
               "The Counter Terrorism Local Profile has been refreshed so that local Prevent action plans reflect the level and nature of threat in each district.",
               "Police representation on panels supporting people vulnerable to being drawn into terrorism is a statutory duty under the {i0}Counter-Terrorism and Security Act 2015{i1}.",
               "Regional Prevent Champions conferences have included inputs from academics, the National Counter Terrorism Policing Operations Centre and local faith leaders.",
               "Many of the cases referred to Channel involve some element of mental ill health, and health partners have committed to attend every panel.",
               "The growing threat from extreme right-wing groups and online radicalisation is reflected in the force\u2019s training programme."),
        bullets=("tension monitoring arrangements that allow police and partners to defuse community tensions quickly",
                 "a Cohesion Summit with workshops on engagement tools and techniques",
                 "mentoring opportunities for young people, identified as a key protective factor against radicalisation",
                 "training for frontline staff on countering extremist narratives and holding challenging conversations",
                 "small grants for locally organised events that bring people from different backgrounds together"),
    ),
    "custody": dict(
        label="police custody", phrase="the treatment of detainees in police custody",
        title="Report on an unannounced inspection visit to police custody suites in {area}",
        short="custody", officers="detention officers", unit="the custody directorate", crime="detainees",
        recs=("the force improves the recording of the use of force in custody",
              "detainees\u2019 rights and entitlements are explained in a way they understand",
              "healthcare provision in custody is reviewed to reduce waiting times"),
        afis=("the oversight of strip searches", "the timeliness of reviews by inspectors"),
        sents=("Independent custody visitors attend each custody suite in {area} at least once a week and report directly to my office.",
               "The number of children held overnight in custody has fallen significantly following work with the local authorities on appropriate accommodation.",
               "All custody suites now have access to liaison and diversion practitioners during peak hours.",
               "A new custody suite at {town} will replace two ageing facilities that the inspectorate described as no longer fit for purpose.",
               "The force has introduced body-worn video for all custody staff to improve transparency over the use of force.",
               "Appropriate adults are now available around the clock for vulnerable detainees.",
               "Ligature points identified by inspectors were removed within weeks of the inspection visit."),
        bullets=("a review of every strip search involving a child by a custody inspector",
                 "improved access to interpreters through a regional contract",
                 "new guidance on the removal of clothing and the provision of replacement items",
                 "a dedicated mental health nurse in each custody suite during peak hours",
                 "quarterly reports on the use of force to my scrutiny panel"),
    ),
    "domestic_abuse": dict(
        label="domestic abuse", phrase="the police response to domestic abuse",
        title="The police response to domestic abuse: an update report",
        short="domestic abuse", officers="domestic abuse investigators", unit="the domestic abuse safeguarding team",
        crime="domestic abuse-related incidents",
        recs=("forces improve the use of Domestic Violence Protection Notices and Orders",
              "supervisors review every domestic abuse case closed with an evidential difficulties outcome",
              "officers complete a risk assessment at every domestic abuse incident"),
        afis=("the use of body-worn video at domestic abuse incidents", "the quality of DASH risk assessments"),
        sents=("Independent domestic violence advisers (IDVAs) are now co-located with police officers in every local policing area.",
               "Multi-agency risk assessment conferences (MARACs) in {area} considered more than {n_big} high-risk cases last year.",
               "The force has doubled its use of Domestic Violence Protection Orders since the last inspection.",
               "Every frontline officer has received Domestic Abuse Matters training delivered in partnership with SafeLives.",
               "Arrest rates for domestic abuse offences have improved, although too many cases still end with evidential difficulties.",
               "I fund a perpetrator programme that challenges abusive behaviour before it escalates.",
               "Victims tell us that the first response from an officer shapes whether they continue to engage with the criminal justice process."),
        bullets=("a specialist domestic abuse court listing at {town} Magistrates\u2019 Court",
                 "refuge provision for male victims and victims with complex needs",
                 "Operation Encompass notifications to schools the morning after an incident",
                 "a dedicated helpline for victims of coercive and controlling behaviour",
                 "a review of repeat victimisation cases by the force\u2019s safeguarding hub"),
    ),
    "stalking": dict(
        label="stalking and harassment", phrase="the response to stalking and harassment",
        title="Living in fear \u2013 the police and CPS response to harassment and stalking",
        short="stalking", officers="stalking advocates", unit="the stalking clinic", crime="stalking offences",
        recs=("forces use Stalking Protection Orders whenever the legal test is met",
              "crimes of stalking are correctly identified and recorded",
              "victims are given a single point of contact throughout the investigation"),
        afis=("the identification of stalking behaviour in harassment reports", "the use of police information notices"),
        sents=("A multi-agency stalking intervention programme brings together the police, health professionals and specialist advocates.",
               "The number of Stalking Protection Orders obtained by the force has risen every quarter since the order was introduced.",
               "Officers now use a stalking screening tool to identify fixated and obsessive behaviour at the first point of contact.",
               "Police information notices are no longer used, in line with the inspectorate\u2019s recommendation.",
               "Victims of stalking often report dozens of incidents before they contact the police, which is why early recognition matters so much.",
               "The stalking clinic reviews high-risk cases every fortnight with a forensic psychologist."),
        bullets=("a specialist stalking advocacy service for high-risk victims",
                 "training on cyber-enabled stalking for call handlers",
                 "a single point of contact for every victim throughout the investigation",
                 "a review of all harassment crimes to identify stalking behaviour that was missed"),
    ),
    "vetting": dict(
        label="vetting and counter-corruption", phrase="police vetting and counter-corruption",
        title="An inspection of vetting, misconduct, and misogyny in the police service",
        short="vetting", officers="vetting staff", unit="the professional standards department", crime="vetting decisions",
        recs=("forces check all officers and staff against the Police National Database",
              "vetting decisions are recorded with a clear rationale",
              "counter-corruption units have the capacity to assess intelligence promptly"),
        afis=("the backlog of vetting renewals", "the recording of the rationale for vetting decisions"),
        sents=("Every officer and member of staff in {force} has now been checked against the Police National Database.",
               "The professional standards department has been strengthened with additional investigators and analysts.",
               "A confidential reporting line allows officers and staff to raise concerns about colleagues anonymously.",
               "Misconduct hearings are held in public wherever possible and outcomes are published on my website.",
               "The force has adopted the College of Policing\u2019s revised vetting code of practice in full.",
               "I have asked my Joint Audit Committee to review the force\u2019s counter-corruption strategy annually."),
        bullets=("a re-vetting exercise for all officers who joined before the current standards were introduced",
                 "new guidance on abuse of position for a sexual purpose",
                 "software to monitor the use of force IT systems",
                 "an independent panel member for every gross misconduct hearing"),
    ),
    "fraud": dict(
        label="fraud", phrase="the police response to fraud",
        title="Fraud: Time to choose \u2013 An inspection of the police response to fraud",
        short="fraud", officers="economic crime investigators", unit="the economic crime unit", crime="reports of fraud",
        recs=("forces adopt a consistent approach to the support of fraud victims",
              "Action Fraud disseminations are allocated and investigated promptly",
              "fraud is included in the force strategic assessment"),
        afis=("the support provided to vulnerable victims of fraud", "the use of asset recovery powers"),
        sents=("The economic crime unit works closely with banks through the Banking Protocol to stop frauds in progress.",
               "Fraud now accounts for around a third of all crime experienced by residents of {area}.",
               "Victims of courier fraud and romance fraud receive a visit from a trained protect officer.",
               "Funds recovered under the {i0}Proceeds of Crime Act 2002{i1} are reinvested in community projects.",
               "The Banking Protocol has prevented losses of more than {amt} in the last year alone.",
               "Trading Standards and the force share intelligence on doorstep crime and rogue traders."),
        bullets=("a fraud protect officer in every local policing area",
                 "awareness sessions for older residents delivered through libraries and community centres",
                 "call-blocking devices for victims of repeat nuisance calls",
                 "a review of every Action Fraud dissemination within seven days"),
    ),
    "roads": dict(
        label="roads policing", phrase="roads policing and road safety",
        title="Roads policing: Not optional \u2013 An inspection of roads policing in England and Wales",
        short="roads policing", officers="roads policing officers", unit="the roads policing unit", crime="collisions resulting in death or serious injury",
        recs=("forces produce a roads policing strategy linked to the national strategy",
              "there is enough capacity to investigate fatal and serious collisions",
              "forces make full use of community speed watch volunteers"),
        afis=("the timeliness of processing third-party footage", "the capacity of the serious collision investigation unit"),
        sents=("The road safety partnership has installed average speed cameras on routes with the worst casualty records.",
               "Community Speed Watch volunteers now operate in more than {n_small} villages across {area}.",
               "Dashcam footage submitted by the public is reviewed through an online portal.",
               "Drink and drug driving campaigns run every summer and at Christmas.",
               "The serious collision investigation unit has been brought back up to its full establishment.",
               "Rural roads account for a disproportionate share of fatal collisions in {area}."),
        bullets=("a dedicated motorcycle safety campaign",
                 "roadside drug testing kits for every roads policing officer",
                 "an online portal for the public to submit dashcam footage",
                 "joint operations with the DVSA targeting unsafe commercial vehicles"),
    ),
    "child_protection": dict(
        label="child protection", phrase="the protection of vulnerable children",
        title="National child protection inspection of {force}",
        short="child protection", officers="child protection officers", unit="the child abuse investigation unit", crime="child protection referrals",
        recs=("officers record the voice of the child in every safeguarding referral",
              "the force improves its response to children who go missing from home",
              "strategy discussions take place without delay"),
        afis=("the quality of initial assessments of risk to children", "the supervision of child abuse investigations"),
        sents=("The multi-agency safeguarding hub (MASH) is now staffed seven days a week.",
               "Return home interviews are carried out for every child reported missing.",
               "Officers have been trained to record the voice of the child in every safeguarding referral.",
               "Child exploitation is reviewed at a monthly multi-agency meeting chaired by a detective superintendent.",
               "The force has improved the timeliness of strategy discussions with children\u2019s social care.",
               "I meet the chairs of the local safeguarding children partnerships twice a year."),
        bullets=("a missing children team working alongside children\u2019s social care",
                 "joint training with children\u2019s services on contextual safeguarding",
                 "a review of all cases where a child was held in custody overnight",
                 "a dedicated officer for children in care homes"),
    ),
    "crime_data": dict(
        label="crime data integrity", phrase="crime recording accuracy",
        title="Crime Data Integrity inspection of {force}",
        short="crime data integrity", officers="crime registrars", unit="the crime recording bureau", crime="crimes recorded",
        recs=("the force records all reported crimes within 24 hours",
              "the force improves the recording of violent and sexual offences",
              "the force establishes an audit regime for crime-related incidents"),
        afis=("the recording of crimes reported by other agencies", "the recording of modern slavery crimes"),
        sents=("An internal audit found that {pct_high}% of reported crimes are now recorded correctly, up from {pct_low}% at the time of the inspection.",
               "The force crime registrar reports to the Deputy Chief Constable and is independent of operational performance pressures.",
               "Every call handler has received refresher training on the {i0}Home Office Counting Rules{i1}.",
               "Crime recording is audited monthly and the results are published in my performance report.",
               "A new records management system has reduced the number of incidents that are closed without a crime being recorded.",
               "Accurate crime recording is fundamental to ensuring that victims receive the service they are entitled to."),
        bullets=("a crime recording decision-maker on every shift",
                 "monthly audits of violent crime incidents",
                 "new guidance on recording crimes reported by third parties",
                 "a review of all cancelled rape crime records"),
    ),
    "neighbourhood": dict(
        label="neighbourhood policing", phrase="neighbourhood policing",
        title="Neighbourhood policing: an inspection of local visibility and engagement",
        short="neighbourhood policing", officers="police community support officers", unit="neighbourhood policing teams", crime="anti-social behaviour incidents",
        recs=("neighbourhood officers are not routinely abstracted to response duties",
              "forces use problem-solving approaches consistently",
              "neighbourhood teams engage with all communities, including those that are seldom heard"),
        afis=("the abstraction of neighbourhood officers", "the evaluation of problem-solving plans"),
        sents=("Every ward in {area} now has a named neighbourhood officer and a police community support officer.",
               "Residents tell me at my public meetings that visible local policing matters more to them than almost anything else.",
               "Problem-solving plans are now evaluated using the SARA model and shared across teams.",
               "Abstractions of neighbourhood officers to response duties are monitored weekly by a superintendent.",
               "The force\u2019s community messaging service now has more than {n_big} subscribers.",
               "Neighbourhood teams have been protected from the changes to response policing."),
        bullets=("street surgeries held in town centres every month",
                 "a rural crime team covering farms and isolated communities",
                 "problem-solving training for every neighbourhood sergeant",
                 "beat meetings held online as well as in person"),
    ),
    "peel": dict(
        label="police effectiveness, efficiency and legitimacy", phrase="the overall performance of the force",
        title="PEEL: Police effectiveness, efficiency and legitimacy {year} \u2013 {force}",
        short="PEEL", officers="police officers", unit="the force", crime="emergency calls",
        recs=("the force improves how quickly it answers emergency and non-emergency calls",
              "the force improves its understanding of demand",
              "the force makes sure that investigations are supervised effectively"),
        afis=("the force\u2019s understanding of the wellbeing of its workforce", "the use of stop and search"),
        sents=("The inspection graded {force} as good in {n_tiny} of the areas assessed.",
               "I am pleased that the inspectorate recognised the force\u2019s commitment to treating the public fairly.",
               "The force has a credible plan to address the areas that were graded as requiring improvement.",
               "The efficiency of the force has been supported by a programme of collaboration with neighbouring forces.",
               "Workforce wellbeing remains a priority, with occupational health waiting times reduced significantly.",
               "The use of stop and search is scrutinised by an independent community panel."),
        bullets=("a new demand management model for the control room",
                 "a leadership programme for newly promoted sergeants and inspectors",
                 "an independent stop and search scrutiny panel",
                 "a review of the force estate to release savings"),
    ),
    "hate_crime": dict(
        label="hate crime", phrase="the police response to hate crime",
        title="Understanding the difference: the initial police response to hate crime",
        short="hate crime", officers="hate crime liaison officers", unit="the hate crime team", crime="hate crimes",
        recs=("forces make sure that hate crimes are correctly flagged",
              "victims of hate crime receive an enhanced service under the Victims\u2019 Code",
              "call handlers identify repeat and vulnerable victims of hate crime"),
        afis=("the flagging of hate crimes on force systems", "the follow-up given to victims"),
        sents=("Third-party reporting centres across {area} allow victims to report hate crime without going to a police station.",
               "The force works with local faith leaders and community groups to build confidence in reporting.",
               "Hate crime scrutiny panels review a sample of closed cases every quarter.",
               "Reports of hate crime increased following international events, and the force deployed additional patrols to reassure communities.",
               "Hate crime funding is aligned with the priorities identified by each community safety partnership."),
        bullets=("a network of third-party reporting centres",
                 "awareness-raising inputs from third sector advocacy organisations",
                 "a hate crime working group attended by borough cohesion leads",
                 "school workshops on challenging prejudice"),
    ),
    "modern_slavery": dict(
        label="modern slavery", phrase="the policing response to modern slavery and human trafficking",
        title="Stolen freedom: the policing response to modern slavery and human trafficking",
        short="modern slavery", officers="modern slavery investigators", unit="the modern slavery and human trafficking unit", crime="National Referral Mechanism referrals",
        recs=("forces improve the identification of victims of modern slavery",
              "modern slavery crimes are recorded and investigated promptly",
              "forces work with partners to disrupt organised exploitation"),
        afis=("the identification of potential victims by frontline officers", "the quality of modern slavery investigations"),
        sents=("The anti-slavery partnership in {area} brings together the police, the Gangmasters and Labour Abuse Authority and local councils.",
               "Referrals to the National Referral Mechanism from {force} have increased each year since {year_prev}.",
               "Car washes, nail bars and agricultural sites have been the focus of joint visits with partner agencies.",
               "Survivors are supported by a specialist service commissioned by my office.",
               "Frontline officers carry aide-memoire cards to help them recognise the signs of exploitation."),
        bullets=("joint visits to car washes and nail bars with immigration enforcement",
                 "a dedicated modern slavery single point of contact in every district",
                 "a survivor support service commissioned by my office",
                 "awareness training for hotel and taxi staff"),
    ),
    "digital": dict(
        label="digital forensics", phrase="the capacity of digital forensic services",
        title="Policing in the digital age: an inspection of digital forensics",
        short="digital forensics", officers="digital forensic examiners", unit="the digital forensics unit", crime="devices awaiting examination",
        recs=("forces reduce the backlog of devices awaiting examination",
              "digital forensic units achieve ISO 17025 accreditation",
              "victims\u2019 devices are returned as quickly as possible"),
        afis=("the backlog of digital devices awaiting examination", "the triage of devices at the start of investigations"),
        sents=("The digital forensics unit has achieved ISO 17025 accreditation for mobile phone extraction.",
               "Self-service kiosks in each local policing area allow trained officers to extract data from phones quickly.",
               "The backlog of devices awaiting examination has fallen from {n_big} to {n_small}.",
               "Victims of rape now have their phones returned within 24 hours in most cases.",
               "Cyber crime is increasingly a feature of every type of investigation, not just specialist ones."),
        bullets=("digital media investigators attached to every investigation hub",
                 "a triage process to prioritise the most urgent devices",
                 "cloud storage for digital evidence shared with the CPS",
                 "new kiosks in custody suites"),
    ),
    "mental_health": dict(
        label="mental health", phrase="the police response to people with mental ill health",
        title="A joint thematic inspection of the police and mental health",
        short="mental health", officers="mental health triage officers", unit="the mental health triage team", crime="section 136 detentions",
        recs=("police custody is never used as a place of safety for children",
              "forces work with health partners to reduce the time officers spend at hospitals",
              "call handlers can access mental health professionals in the control room"),
        afis=("the time officers spend waiting with patients at emergency departments", "the recording of mental health-related incidents"),
        sents=("Mental health nurses now work alongside call handlers in the force control room.",
               "The number of people detained under section 136 of the {i0}Mental Health Act 1983{i1} has fallen for the third consecutive year.",
               "No child has been taken to police custody as a place of safety since {year_prev}.",
               "The Right Care, Right Person approach has been introduced in partnership with the NHS.",
               "Officers too often wait many hours with patients in emergency departments, which takes them away from their core role."),
        bullets=("a street triage car staffed by a police officer and a mental health nurse",
                 "a health-based place of safety at {town} hospital",
                 "a crisis café open in the evenings and at weekends",
                 "joint training with ambulance crews on mental health legislation"),
    ),
    "vawg": dict(
        label="violence against women and girls", phrase="tackling violence against women and girls",
        title="Police response to violence against women and girls \u2013 final inspection report",
        short="VAWG", officers="sexual offence liaison officers", unit="the rape and serious sexual offences team", crime="reported rapes",
        recs=("the relentless pursuit and disruption of adult perpetrators is a national priority for the police",
              "victims receive a consistent, high-quality response across all forces",
              "multi-agency partnerships have a jointly agreed strategy to tackle VAWG"),
        afis=("the support provided to victims who withdraw from investigations", "the identification of serial perpetrators"),
        sents=("{force} has adopted the national Operation Soteria model for rape and serious sexual offence investigations.",
               "Independent sexual violence advisers (ISVAs) support victims from the first report through to trial.",
               "The Safer Streets schemes in {area} have improved lighting and CCTV in parks and on walking routes.",
               "Night-time economy venues have been trained through the Ask for Angela scheme.",
               "I have made tackling violence against women and girls a strategic priority in my Police and Crime Plan."),
        bullets=("Walk and Talk patrols with women who volunteer to show officers where they feel unsafe",
                 "Ask for Angela training for licensed premises",
                 "a dedicated team to pursue the most harmful perpetrators",
                 "improved lighting and CCTV in parks funded through the Safer Streets Fund"),
    ),
    "county_lines": dict(
        label="county lines", phrase="the response to county lines drug exploitation",
        title="Both sides of the coin: the police response to vulnerable people in county lines drug offending",
        short="county lines", officers="exploitation officers", unit="the exploitation team", crime="county lines closed",
        recs=("forces treat children involved in county lines as victims first",
              "the National Referral Mechanism is used consistently for exploited children",
              "forces share intelligence on county lines with neighbouring areas"),
        afis=("the identification of exploited children", "the use of the National Referral Mechanism"),
        sents=("Intensification weeks coordinated with neighbouring forces have closed dozens of lines running into {area}.",
               "Children found in possession of drugs are assessed as potential victims of exploitation before any decision on charge.",
               "Youth workers based in the emergency department engage with young people admitted with stab wounds.",
               "The regional organised crime unit leads the response to the most harmful lines."),
        bullets=("youth workers in the emergency department at {town}",
                 "joint intensification weeks with neighbouring forces",
                 "a rescue and response service for children exploited by county lines",
                 "cuckooing awareness sessions with housing officers"),
    ),
    "contact": dict(
        label="contact management", phrase="the handling of 999 and 101 calls",
        title="Contact management: an inspection of how forces answer 999 and 101 calls",
        short="contact management", officers="call handlers", unit="the force contact centre", crime="emergency calls",
        recs=("forces answer emergency calls within ten seconds in line with the national standard",
              "call handlers identify vulnerability using a structured approach",
              "forces reduce the abandonment rate for non-emergency calls"),
        afis=("the abandonment rate for 101 calls", "the recording of vulnerability at first contact"),
        sents=("The force now answers {pct_high}% of 999 calls within ten seconds.",
               "An online reporting service and live chat have reduced pressure on the 101 line.",
               "Call handlers use the THRIVE model to assess threat, harm and risk at the first point of contact.",
               "A call-back service means that people no longer wait on the line for a non-emergency response.",
               "Staff turnover in the contact centre has been a persistent challenge."),
        bullets=("live chat and online reporting on the force website",
                 "a call-back option for non-emergency callers",
                 "new wellbeing support for call handlers",
                 "a mental health professional in the control room"),
    ),
}
TOPIC_KEYS = tuple(TOPICS)

# ---------------------------------------------------------------------------
# Sentence templates (generic).  Slots: see _Slots.
# ---------------------------------------------------------------------------
OPENING = (
    "I write in response to the recent HMICFRS inspection report, {report}.",
    "I am writing in response to the HMICFRS report {report}, published in {pub_month}.",
    "Thank you for the opportunity to respond to the HMICFRS inspection report {report}.",
    "Please accept this letter as my formal response, under section 55 of the {i0}Police Act 1996{i1}, to the HMICFRS report {report}.",
    "As required by section 55 of the {i0}Police Act 1996{i1}, I am publishing my comments on the HMICFRS report {report} and sending a copy to you.",
    "I welcome the publication of {report} and the scrutiny it brings to {phrase} in {area}.",
    "This letter sets out my response, and that of the Chief Constable, to the inspection report {report}.",
    "I have now considered the findings of {report} alongside the Chief Constable\u2019s own response.",
)
OPENING_2 = (
    "The inspection examined {phrase} across a sample of forces, including {force}.",
    "The report makes a number of findings that are relevant to {area}, and I set out below how they are being addressed.",
    "I am grateful to the inspectors for their work and for the constructive way in which they engaged with officers and staff.",
    "The Chief Constable has provided me with a detailed response, and I have drawn on it in preparing this letter.",
    "I have discussed the report with the Chief Constable, {cc}, at my most recent accountability meeting.",
    "My response reflects discussions with {partner} as well as with the force.",
)
CONTEXT = (
    "Here in {area}, I maintain a close interest in {phrase}.",
    "{label_cap} remains one of the priorities in my Police and Crime Plan for {plan_years}.",
    "{force} serves a population of around {population} people across {la_n} local authority areas.",
    "Since taking office I have made {phrase} a standing item at my quarterly accountability meetings with the Chief Constable.",
    "My office has a dedicated {advisor} whose remit includes {phrase} and building links between our partners.",
    "I am also a member of the {board}, which brings together senior leaders from policing and partner agencies.",
    "The report comes at a time of significant change for {force}, which has recruited {n_officers} additional officers through the national uplift programme.",
    "I recognise the scale of the challenge the report describes, both nationally and here in {area}.",
    "Local partners in {area} have long recognised that {phrase} cannot be delivered by the police alone.",
    "In my role as {role_sentence}, I have a statutory duty to hold the Chief Constable to account for the efficiency and effectiveness of {force}.",
    "Demand on {force} has grown steadily, with {n_big} incidents recorded in the last twelve months.",
    "The geography of {area}, with its mix of urban centres and isolated rural communities, presents particular challenges for {unit}.",
    "Public confidence in {force} remains high, with {pct_high}% of residents saying they have confidence in their local police.",
    "I hold the Chief Constable to account in public at my Community Outcomes Meetings, which are broadcast online.",
)
RECS = (
    "The report makes {rec_n} recommendations for chief constables, {rec_local} of which apply directly to {force}.",
    "The report\u2019s principal recommendation is that {rec}.",
    "{force} has accepted the recommendation that {rec} and has incorporated it into its improvement plan.",
    "The Chief Constable, {cc}, has assured me that progress against each recommendation is tracked through the force\u2019s HMICFRS governance board.",
    "I note the report also identifies an area for improvement concerning {afi}.",
    "Of the recommendations made, {rec_done} have already been discharged and the remainder are on track for completion by {deadline}.",
    "I am satisfied that the actions proposed by the force are proportionate to the concerns raised by the inspectorate.",
    "I have asked the Chief Constable to provide me with a written update on the recommendation that {rec} by {deadline}.",
    "Where recommendations are directed at national bodies, such as the College of Policing or the National Police Chiefs\u2019 Council (NPCC), I will continue to press for timely progress.",
    "The force\u2019s response to the concern about {afi} is set out below.",
    "I wish to respond to the recommendation that {rec} as follows.",
    "The inspectorate\u2019s findings on {afi} mirror concerns raised by my own scrutiny panel last year.",
)
FUNDING = (
    "I have allocated {amt} from my {fund} to support this work during {fy}.",
    "My {fund} provides grants of up to {small_amt} for qualifying organisations, many of which focus on {phrase}.",
    "A further {amt} has been secured from the Home Office {ho_fund} to extend the service until {deadline}.",
    "The force has invested {amt} in new technology to support {unit}.",
    "This year my office has commissioned services worth {amt} to support victims in {area}.",
    "Funding of {amt} has been ring-fenced within the {fy} budget for {phrase}.",
    "Despite real-terms reductions in central government funding of around {pct}% since 2010, I have protected investment in {phrase}.",
    "The precept increase agreed for {fy} allowed the force to invest an additional {amt} in {unit}.",
    "Match funding of {small_amt} from {partner} has allowed the scheme to expand to a further {n_small} neighbourhoods.",
)
PROGRAMME = (
    "{op} was launched in {month_year} and has already been adopted as good practice by neighbouring forces.",
    "An independent evaluation of {op} by the local university found a {pct}% reduction in repeat demand.",
    "{op}, a partnership with {partner}, is now in its {nth} year.",
    "Learning from {op} has been shared through the College of Policing\u2019s practice bank.",
    "The force intends to mainstream {op} once the evaluation is complete in {deadline}.",
    "I have asked for {op} to report its outcomes to my scrutiny panel every six months.",
    "Early results from {op} are encouraging, although it is too soon to draw firm conclusions.",
)
OFFICERS = (
    "The force has recruited {n_officers} additional officers since {year_prev}, taking its establishment to its highest level for a decade.",
    "Some {n_small} officers and staff have been redeployed to {unit} to meet increased demand.",
    "Over {n_officers} officers and staff attended {training} training sessions during {fy}.",
    "Vacancies in {unit} have fallen from {n_small} to {n_tiny} over the last year.",
    "A further {n_small} student officers will join {unit} after completing their probation.",
    "Specialist detectives remain in short supply, and the force has {n_tiny} vacancies it is working hard to fill.",
)
PARTNERSHIP = (
    "Working closely with {partner}, the force has updated its local profile so that action plans reflect the level and nature of threat in each district.",
    "Delivering this will depend heavily on the support of {partner}; I would urge the Home Office not to see this purely as a police endeavour.",
    "The {board} provides strategic oversight of this work and meets every quarter.",
    "Information sharing between the force and {partner} has improved markedly since the last inspection.",
    "I continue to fund many locally supported, third sector and voluntary groups whose work complements that of the police.",
    "A joint protocol with {partner} sets out who is responsible for each stage of the process.",
    "Partners in {la} have co-located staff with the police to provide a single front door for referrals.",
    "The force\u2019s relationship with {partner} is strong, but capacity across the system remains stretched.",
    "Regular meetings between senior officers and {partner} ensure that emerging risks are identified early.",
)
SCRUTINY = (
    "I reviewed {force}\u2019s work on {label} at the {month} session of my Community Outcomes Meetings, our public-facing forums through which I hold the Chief Constable to account.",
    "My office\u2019s audit team has carried out an internal audit of {label}, and its recommendations have been added to the force\u2019s action plan.",
    "The Joint Audit Committee will receive a progress report on the inspection findings at its meeting in {deadline}.",
    "I will continue to monitor progress closely through my performance framework and will publish updates on my website.",
    "The police and crime panel has asked to receive a briefing on this report, which I have welcomed.",
    "An independent scrutiny panel of local residents reviews a sample of cases each quarter and reports its findings to me.",
    "I receive a monthly performance report from the force which includes measures relating to {label}.",
    "Members of my office observe the force\u2019s internal governance meetings on {label} to provide additional assurance.",
)
PERFORMANCE = (
    "Between {month_year} and {month_year2}, the force recorded {n_big} {crime}, a {pct}% {updown} on the previous year.",
    "An internal audit in {month_year} found that {pct_high}% of cases were handled in line with national guidance.",
    "The average time taken to complete an investigation has fallen from {d1} days to {d2} days.",
    "Victim satisfaction with the overall service has risen to {pct_high}%, although satisfaction with being kept informed remains lower.",
    "The charge rate for these offences is now {pct_low}%, which remains too low and is the subject of a dedicated improvement plan.",
    "Repeat victimisation has fallen by {pct}% since the new approach was introduced.",
    "The number of {crime} increased by {pct}% in {fy}, reflecting improved recording as well as genuine increases in demand.",
)
CHALLENGES = (
    "I would ask the Home Office to consider a longer-term funding settlement so that forces can plan with greater certainty.",
    "Short-term, competitive funding rounds make it difficult for partners to recruit and retain specialist staff.",
    "The rising cost of living is increasing demand on policing and on the voluntary sector that supports victims.",
    "National IT systems remain a source of frustration for officers and a barrier to effective information sharing.",
    "Court backlogs mean that many victims wait more than a year for their case to be heard, and too many withdraw as a result.",
    "I would welcome further guidance from the College of Policing on how forces should prioritise this work alongside competing demands.",
    "The inspectorate rightly highlights that national standards are not applied consistently; I would support a stronger national lead.",
    "Concerns from frontline staff about the lack of resources and competing priorities are real, and I do not underestimate them.",
)
CLOSING = (
    "I am grateful to the inspectors for this report, which I hope this letter shows is being taken seriously in {area}.",
    "I hope this response outlines how we are working to strengthen our commitment to {phrase} across {area}.",
    "I will continue to monitor the force\u2019s progress and would be happy to provide a further update in due course.",
    "Please do not hesitate to contact my office if you require any further information.",
    "I remain committed to working with the Chief Constable and partners to deliver the improvements the inspectorate has identified.",
    "A copy of this response will be published on my website, together with the Chief Constable\u2019s response to the report.",
    "I am confident that {force} will continue to build on the progress described in this letter.",
)
BULLET_INTROS = (
    "Examples of this work include:",
    "Key actions taken since the inspection include:",
    "In particular, the force has introduced:",
    "The improvement plan includes:",
    "Work completed or under way includes:",
    "Recent developments include the following:",
    "I would highlight the following:",
)
GENERIC_BULLETS = (
    "a refreshed action plan overseen by an assistant chief constable",
    "quarterly reporting to my office on progress against each recommendation",
    "new training for first-line supervisors",
    "improved performance data made available to neighbourhood teams",
    "an independent review of the force\u2019s policy, completed in {month_year}",
    "closer working with {partner} through a shared tasking process",
    "{op}, which is being evaluated by the local university",
    "additional funding of {small_amt} for community projects",
    "a public survey that received more than {n_big} responses",
    "a dedicated single point of contact in each local policing area",
)

# fact sentence templates: (sentence, question)
FUND_FACTS = (
    ("I have committed {amount} to {programme}, which {prog_desc}.",
     "How much funding was committed to {programme}{where}?"),
    ("{programme}, which {prog_desc}, is funded by my office at a cost of {amount}.",
     "How much does {programme}{where} cost the commissioner's office?"),
    ("To support this, my office has provided {amount} for {programme} over the next two years.",
     "How much has the office provided for {programme}{where}?"),
    ("In {fy} I agreed funding of {amount} for {programme}, which {prog_desc}.",
     "How much funding was agreed for {programme}{where}?"),
)
PROG_DESCS = (
    "supports victims from the first report through to the conclusion of their case",
    "brings together officers and partner agencies in a single team",
    "provides early intervention for people at risk of harm",
    "funds community groups working to prevent crime",
    "offers specialist support to young people at risk of exploitation",
    "helps officers identify vulnerability at the earliest opportunity",
)
OFFICER_FACTS = (
    ("A total of {officers} {officer_kind} have now completed {training} training.",
     "How many {officer_kind} in {area} have completed {training} training?"),
    ("The force now has {officers} {officer_kind}, an increase of {pct}% since the inspection.",
     "How many {officer_kind} does {force} now have?"),
    ("{force} has deployed {officers} {officer_kind} across {area}.",
     "How many {officer_kind} has {force} deployed?"),
)
PILOT_FACTS = (
    ("{force} is running {pilot} in {la}, which {pilot_desc}.",
     "Which pilot is {force} running in {la}?"),
    ("Following the success of {pilot} in {la}, the approach will be extended across {area}.",
     "Which pilot in {la} is being extended across {area}?"),
    ("In {month_year} the force began {pilot} in {la}, which {pilot_desc}.",
     "What pilot did {force} begin in {la}?"),
)
PILOT_DESCS = (
    "places a specialist worker alongside response officers",
    "moves responsibility for case coordination from the police to the local authority",
    "gives victims a single point of contact from report to court",
    "uses data to identify the locations where harm is concentrated",
    "offers a same-day response to people in crisis",
    "tests a new triage model in the control room",
)


# ---------------------------------------------------------------------------
# Letter model
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SynthLetter:
    """One synthetic letter plus the facts it states (for sanity checks)."""

    index: int
    seed: int
    file_name: str  # base name, e.g. "000042-avonmere-2019-03-04-custody-response.txt"
    format: str  # "txt" | "md" | "pdf" | "docx"
    text: str  # the text as written to the file (for pdf/docx: the text layer)
    sender: str
    role: str
    organisation: str
    area: str
    date_iso: str
    date_text: str  # the date exactly as it appears in ``text``
    recipient: str  # "Home Secretary" | "HM Chief Inspector of Constabulary"
    reference: str | None  # "My Reference" value, when the letter has one
    amount: str  # e.g. "£250,000"; stated in text
    officers: str  # e.g. "1,240"; stated in text
    programme: str
    pilot: str
    topic: str  # key of TOPICS
    report_title: str
    qa: tuple[tuple[str, str], ...]  # (question, verbatim answer substring of text)
    lines: tuple[tuple[str, ...], ...] = ()  # groups of marked-up lines (internal)

    @property
    def year(self) -> int:
        return int(self.date_iso[:4])

    @property
    def relative_path(self) -> str:
        """Path used by :func:`write_corpus`: ``<year>/<file_name>``."""
        return f"{self.year}/{self.file_name}"

    @property
    def word_count(self) -> int:
        return len(self.text.split())


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def _initials(name: str) -> str:
    return "".join(p[0] for p in name.replace("-", " ").split() if p[0].isupper())


def _fmt_amount(rng: random.Random, small: bool = False) -> str:
    style = rng.random()
    if small or style < 0.25:
        return f"£{rng.choice((2, 3, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 75))}k"
    if style < 0.65:
        v = rng.choice((15, 20, 25, 30, 45, 60, 75, 80, 90, 120, 150, 180, 200, 250, 300, 350, 400, 480, 500, 650, 750, 900))
        v = v * 1000 + rng.choice((0, 0, 0, 500, 250))
        return f"£{v:,}"
    if style < 0.85:
        return f"£{rng.randint(10, 99) / 10:.1f} million"
    return f"£{rng.randint(1, 12)} million"


def _fmt_count(n: int) -> str:
    return f"{n:,}"


def _format_date(rng: random.Random, d: _dt.date) -> tuple[str, str]:
    """Return (marked-up date, style name)."""
    style = rng.choices(("ord", "sup", "slash", "us", "plain"), weights=(30, 20, 15, 10, 25))[0]
    day, month, year = d.day, MONTHS[d.month - 1], d.year
    if style == "ord":
        return f"{day}{_ordinal(day)} {month} {year}", style
    if style == "sup":
        return f"{day}{S0}{_ordinal(day)}{S1} {month} {year}", style
    if style == "slash":
        return f"{day:02d}/{d.month:02d}/{year}", style
    if style == "us":
        return f"{month} {day}, {year}", style
    return f"{day} {month} {year}", style


def _person(rng: random.Random) -> str:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
    if rng.random() < 0.08:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}-{rng.choice(SURNAMES)}"
    return name


def _term(year: int, month: int) -> int:
    """PCC electoral term (elections in Nov 2012, May 2016, May 2021, May 2024)."""
    if year < 2016 or (year == 2016 and month < 5):
        return 2012
    if year < 2021 or (year == 2021 and month < 5):
        return 2016
    if year < 2024 or (year == 2024 and month < 5):
        return 2021
    return 2024


class _Slots(dict):
    """Mapping for ``str.format_map``: fixed letter slots plus lazily drawn random ones."""

    def __init__(self, fixed: dict, rng: random.Random, topic: dict):
        super().__init__(fixed)
        self.rng = rng
        self.topic = topic

    def __missing__(self, key: str) -> str:  # fresh value every time a slot is used
        r = self.rng
        t = self.topic
        yr = self["_year"]
        if key == "amt":
            return _fmt_amount(r)
        if key == "small_amt":
            return _fmt_amount(r, small=True)
        if key == "n_officers":
            return _fmt_count(r.randint(40, 1200))
        if key == "n_big":
            return _fmt_count(r.randint(1000, 48000))
        if key == "n_small":
            return str(r.randint(12, 95))
        if key == "n_tiny":
            return str(r.randint(2, 11))
        if key in ("pct", "pct_low"):
            return str(r.randint(4, 38))
        if key == "pct_high":
            return str(r.randint(72, 98))
        if key in ("d1", "d2"):
            return str(r.randint(12, 60) if key == "d2" else r.randint(61, 140))
        if key == "updown":
            return r.choice(("increase", "reduction", "rise", "fall"))
        if key == "month":
            return r.choice(MONTHS)
        if key in ("month_year", "month_year2"):
            y = r.randint(max(2012, yr - 2), yr)
            return f"{r.choice(MONTHS)} {y}"
        if key == "partner":
            return r.choice(PARTNERS)
        if key == "board":
            return r.choice(BOARDS)
        if key == "fund":
            return r.choice(FUNDS)
        if key == "ho_fund":
            return r.choice(HO_FUNDS)
        if key == "advisor":
            return r.choice(ADVISORS)
        if key == "training":
            return r.choice(TRAINING)
        if key == "op":
            return f"{r.choice(('Operation', 'Project', 'Operation'))} {r.choice(CODEWORDS)}"
        if key == "nth":
            return r.choice(("second", "third", "fourth", "fifth"))
        if key == "rec":
            return r.choice(t["recs"])
        if key == "afi":
            return r.choice(t["afis"])
        if key == "rec_n":
            return r.choice(NUM_WORDS[3:12])
        if key == "rec_local":
            return r.choice(NUM_WORDS[1:4])
        if key == "rec_done":
            return r.choice(NUM_WORDS[2:6])
        if key == "la":
            return r.choice(self["_las"])
        if key == "deadline":
            d = self["_date"] + _dt.timedelta(days=r.randint(60, 540))
            return f"{MONTHS[d.month - 1]} {d.year}"
        raise KeyError(key)


def _fill(tmpl: str, slots: _Slots) -> str:
    s = tmpl.format_map(slots)
    return s[0].upper() + s[1:] if s and s[0].islower() else s


class _Deck:
    """Draw templates without replacement; reshuffle when exhausted."""

    def __init__(self, rng: random.Random, items):
        self.rng, self.items, self.pool = rng, tuple(items), []

    def draw(self) -> str:
        if not self.pool:
            self.pool = list(self.items)
            self.rng.shuffle(self.pool)
        return self.pool.pop()


def letter_format(i: int, pdf_every: int = 50, docx_every: int = 100) -> str | None:
    """Binary format forced by the corpus cadence, or None for a text letter.

    Letter *i* (0-based) is a PDF when ``(i + 1) % pdf_every == 0`` and a DOCX
    when ``i % docx_every == docx_every // 2`` (offset so the two cadences do
    not collide for the defaults); PDF wins if they ever coincide.
    """
    if pdf_every and pdf_every > 0 and (i + 1) % pdf_every == 0:
        return "pdf"
    if docx_every and docx_every > 0 and i % docx_every == docx_every // 2:
        return "docx"
    return None


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------
_LA_PREFIXES = ("North", "South", "East", "West", "Upper", "Lower", "Market", "Kings", "Great", "Little")
_LA_STEMS = ("Ashby", "Bramley", "Carlton", "Denby", "Elston", "Fairley", "Gorton", "Hinton", "Kelby", "Langley",
             "Marston", "Norton", "Oxley", "Radley", "Shelby", "Thorpe", "Walton", "Wetherby", "Yeadon", "Easing")
_HOME_OFFICE = ("Rt Hon the Home Secretary", "Home Office", "2 Marsham Street", "London SW1P 4DF")
_HMICFRS = ("HM Chief Inspector of Constabulary", "HMICFRS", "4th Floor Globe House", "89 Eccleston Square", "London SW1V 1PN")


def _sender(seed: int, i_area: int, combined: bool, term: int, deputy: bool) -> tuple[str, str]:
    """(display name without post-nominals, post-nominals) for the office holder of a term."""
    r = random.Random(f"{seed}:person:{int(combined)}:{i_area}:{term}:{int(deputy)}")
    name = _person(r)
    if r.random() < 0.06:
        name = ("Baroness " if r.random() < 0.5 else "Dame ") + name if name.split()[0] in _FEMALE else "Sir " + name
    return name, r.choice(POSTNOMINALS)


_TITLES = ("Baroness", "Dame", "Sir")
_FEMALE = set(
    "Alison Angela Bernadette Caroline Catherine Claire Deborah Donna Elaine Emma Fiona Gillian Hannah Helen "
    "Jacqueline Janet Jennifer Joanne Judith Julia Karen Katy Lesley Lisa Margaret Nadia Nicola Priya Rachel "
    "Rosemary Ruth Sarah Sophie Susan Teresa Victoria Yasmin".split()
)


def _target_words(rng: random.Random) -> int:
    # log-normal, clamped to [250, 2500]; mean of the clamped distribution ~900
    return int(min(2500, max(250, rng.lognormvariate(6.60, 0.52))))


def generate_letter(i: int, seed: int = 0, fmt: str | None = None) -> SynthLetter:
    """Generate letter *i* of corpus *seed*.  Pure and deterministic.

    ``fmt`` overrides the output format ("txt", "md", "pdf", "docx"); by default
    it follows :func:`letter_format` with the default cadence, otherwise the
    letter is "txt" or "md" (drawn from the letter's own random stream).  The
    content (facts, sentences) does not depend on ``fmt``; only rendering does.
    """
    rng = random.Random(f"{seed}:{i}")
    plain_fmt = "md" if rng.random() < 0.3 else "txt"
    if fmt is None:
        fmt = letter_format(i) or plain_fmt
    if fmt not in ("txt", "md", "pdf", "docx"):
        raise ValueError(f"unknown format {fmt!r}")

    # --- date, sender, organisation ------------------------------------
    date = _dt.date(2014, 1, 1) + _dt.timedelta(days=rng.randrange((_dt.date(2025, 12, 31) - _dt.date(2014, 1, 1)).days + 1))
    while date.weekday() >= 5 and rng.random() < 0.85:  # mostly weekdays
        date += _dt.timedelta(days=1)
    year = date.year
    term = _term(year, date.month)
    combined = rng.random() < 0.14
    if combined:
        ci = rng.randrange(len(COMBINED))
        area, org, abbr, force, ca_address, boroughs = COMBINED[ci]
        deputy = rng.random() < 0.65
        sender, post = _sender(seed, ci, True, term, deputy)
        if deputy:
            role = rng.choice((
                f"Deputy Mayor of {area} for Policing and Crime",
                f"Deputy Mayor of {area} for Policing, Crime and Criminal Justice",
                f"Deputy Mayor for Policing and Crime, {area}",
            ))
        else:
            role = f"Mayor of {area}"
        office_short = abbr
        town = ca_address.split(", ")[-2]
        address_lines = tuple(ca_address.split(", ")[1:])
        las = tuple(b.title() for b in boroughs)
        role_sentence = role
        phone = f"0161 {random.Random(f'{seed}:tel:c{ci}').randint(200000, 999999)}"
        website = f"www.{_slug(abbr)}.gov.uk"
    else:
        ai = rng.randrange(len(AREAS))
        area, force, town, street, postcode, prefix, kind = AREAS[ai]
        sender, post = _sender(seed, ai, False, term, False)
        if kind == "pfcc" and year >= 2018:
            role = f"Police, Fire and Crime Commissioner for {area}"
            office_short = "OPFCC"
            org = f"Office of the Police, Fire and Crime Commissioner for {area}"
        else:
            role = f"Police and Crime Commissioner for {area}"
            office_short = "OPCC"
            org = f"Office of the Police and Crime Commissioner for {area}"
        abbr = office_short
        address_lines = tuple(street.split(", ")) + (f"{town} {postcode}",)
        boroughs = ()
        lr = random.Random(f"{seed}:las:{ai}")
        las = tuple(sorted({town} | {
            f"{lr.choice(_LA_PREFIXES)} {lr.choice(_LA_STEMS)}" if lr.random() < 0.4
            else lr.choice(_LA_STEMS) + lr.choice(("", "bury", "ford", "ham", "ton", "field", "wick"))
            for _ in range(lr.randint(3, 7))}))
        role_sentence = role
        phone = f"{prefix} {random.Random(f'{seed}:tel:{ai}').randint(200000, 999999)}"
        website = f"www.{_slug(area)}-pcc.gov.uk"
    cc = _person(random.Random(f"{seed}:cc:{area}:{term}"))
    first, last = sender.split()[-2], sender.split()[-1]
    email = f"{first.lower()}.{last.lower()}@{_slug(area)}.{'pcc' if not combined else _slug(abbr)}.example.gov.uk"

    topic_key = rng.choice(TOPIC_KEYS)
    topic = TOPICS[topic_key]
    report = topic["title"].format(force=force, area=area, year=year - (1 if date.month < 6 else 0))
    recipient = "Home Secretary" if rng.random() < 0.7 else "HM Chief Inspector of Constabulary"
    pub = date - _dt.timedelta(days=rng.randint(20, 56))
    fy_start = year if date.month >= 4 else year - 1
    fy = f"{fy_start}/{str(fy_start + 1)[2:]}"
    plan_start = term + (1 if term == 2012 else 0)
    fixed = dict(
        area=area, force=force, cc=cc, report=f"{I0}{report}{I1}" if rng.random() < 0.4 else report,
        phrase=topic["phrase"], label=topic["label"], label_cap=topic["label"][0].upper() + topic["label"][1:],
        unit=topic["unit"], crime=topic["crime"], town=town, fy=fy, role_sentence=role_sentence,
        pub_month=f"{MONTHS[pub.month - 1]} {pub.year}", plan_years=f"{plan_start} to {plan_start + 4}",
        population=rng.choice(("500,000", "650,000", "800,000", "1.1 million", "1.4 million", "1.7 million", "2.3 million", "2.8 million")),
        la_n=NUM_WORDS[min(12, max(2, len(las)))], year_prev=str(year - rng.randint(2, 4)),
        i0=I0, i1=I1, _year=year, _date=date, _las=las,
    )
    slots = _Slots(fixed, rng, topic)

    # --- facts -----------------------------------------------------------
    amount = _fmt_amount(rng)
    big = topic_key in ("peel", "neighbourhood", "contact")  # whole-force head counts; others are specialists
    officers = _fmt_count(rng.choice((rng.randint(12, 99), rng.randint(100, 450),
                                      rng.randint(500, 2400) if big else rng.randint(20, 160))))
    prog_kind = rng.random()
    if prog_kind < 0.45:
        programme = f"{rng.choice(('Operation', 'Project'))} {rng.choice(CODEWORDS)}"
    else:
        programme = f"the {area} {rng.choice(PROG_NOUNS)}"
    pilot = f"the {rng.choice(CODEWORDS)} pilot" if rng.random() < 0.6 else f"the {rng.choice(CODEWORDS)} {rng.choice(('pilot', 'trial', 'project'))}"
    pilot_la = rng.choice(las)
    fact_slots = _Slots(dict(fixed, amount=amount, programme=programme, prog_desc=rng.choice(PROG_DESCS),
                             officers=officers, officer_kind=topic["officers"], training=rng.choice(TRAINING),
                             pilot=pilot, la=pilot_la, pilot_desc=rng.choice(PILOT_DESCS),
                             month_year=f"{MONTHS[rng.randrange(12)]} {year - rng.randint(0, 1)}",
                             pct=str(rng.randint(5, 40)),
                             where="" if area in programme else f" in {area}"), rng, topic)
    facts_sent = []
    qa: list[tuple[str, str]] = []
    for pool, answer in ((FUND_FACTS, amount), (OFFICER_FACTS, officers), (PILOT_FACTS, pilot)):
        s_t, q_t = rng.choice(pool)
        sent = _fill(s_t, fact_slots)
        q = q_t.format_map(fact_slots)
        facts_sent.append(sent)
        qa.append((q, answer.removeprefix("the ")))  # "Kestrel pilot"; amounts/counts unchanged

    # --- reference, date -------------------------------------------------
    has_ref = rng.random() < 0.45
    reference = None
    if has_ref:
        typist = "".join(rng.choice("ABCDEFGHJKLMNPRSTW") for _ in range(2))
        reference = f"{office_short}/{_initials(sender.split(' ', 1)[1] if sender.split()[0] in _TITLES else sender)}/{typist}"
        if rng.random() < 0.35:
            reference += f"/{year}-{rng.randint(1, 250):03d}"
    date_marked, _date_style = _format_date(rng, date)

    # --- assemble groups of lines ------------------------------------------
    groups: list[list[str]] = []
    footer_style = rng.random()
    footer: list[str] | None = None
    if combined and footer_style < 0.7:
        cols = list(boroughs)
        half = (len(cols) + 1) // 2
        footer = [ca_address, "\t".join(cols[:half]), "\t".join(cols[half:])]
        footer = [l for l in footer if l]
    elif not combined and footer_style < 0.45:
        footer = [f"Tel No: {phone}", f"Email: {email}", website]
        if rng.random() < 0.5:
            handle = f"@{_slug(area).replace('-', '').title()[:12]}OPCC"
            footer.append(f"{L0}{handle}{LSEP}https://twitter.com/{handle[1:]}{L1}")
        if rng.random() < 0.4:
            footer.insert(0, f"{org}, {', '.join(address_lines)}")

    head_style = rng.random()
    if not combined and head_style < 0.5:
        groups.append([sender + post, role] + list(address_lines))
        if rng.random() < 0.6:
            groups.append(["Office of the", f"{B0}{'Police, Fire & Crime' if office_short == 'OPFCC' else 'Police & Crime'}", f"Commissioner{B1}", area])
    elif combined and head_style < 0.5:
        groups.append([org] + list(address_lines))
    rec_lines = _HOME_OFFICE if recipient == "Home Secretary" else _HMICFRS
    # letters to HMCIC always carry the addressee block (the salutation alone does not name the office)
    if rng.random() < 0.5 or recipient != "Home Secretary":
        groups.append(list(rec_lines) if rng.random() < 0.5 else [", ".join(rec_lines)])
    if reference:
        refs = [f"My Reference: {reference}"]
        if rng.random() < 0.6:
            refs.append("Your Reference:")
        groups.append(refs)
    groups.append([date_marked])
    sal = f"Dear {recipient}" if recipient == "Home Secretary" else rng.choice(("Dear HM Chief Inspector", "Dear Chief Inspector"))
    sal += "," if rng.random() < 0.7 else ""
    groups.append([f"{B0}{sal}{B1}" if rng.random() < 0.3 else sal])
    subj_style = rng.random()
    plain_report = report
    if subj_style < 0.3:
        subject = f"SUBJECT: Her Majesty\u2019s Inspectorate of Constabulary and Fire & Rescue Services (HMICFRS) Report {plain_report}"
    elif subj_style < 0.55:
        subject = f"HMICFRS Inspection Report: {plain_report}."
    elif subj_style < 0.8:
        subject = f"Re: {plain_report}"
    else:
        subject = f"{B0}Response to HMICFRS report \u2013 {plain_report}{B1}"
    groups.append([subject])

    # opening
    opening = [_fill(rng.choice(OPENING), slots), _fill(rng.choice(OPENING_2), slots)]
    if rng.random() < 0.5:
        opening.append(_fill(rng.choice(CONTEXT), slots))
    groups.append([" ".join(opening)])

    decks = {name: _Deck(rng, pool) for name, pool in (
        ("context", CONTEXT), ("recs", RECS), ("funding", FUNDING), ("programme", PROGRAMME),
        ("officers", OFFICERS), ("partnership", PARTNERSHIP), ("scrutiny", SCRUTINY),
        ("performance", PERFORMANCE), ("challenges", CHALLENGES), ("topic", topic["sents"]),
        ("bullets", topic["bullets"] + GENERIC_BULLETS[: 4 + rng.randrange(7)]), ("intro", BULLET_INTROS),
    )}
    themes = ("context", "recs", "recs", "funding", "programme", "officers", "partnership", "scrutiny",
              "performance", "challenges", "topic", "topic")
    target = _target_words(rng)
    closing_para = " ".join(_fill(decks_c, slots) for decks_c in rng.sample(CLOSING, rng.randint(1, 2)))
    sign_off = rng.choice(("Yours sincerely", "Yours sincerely", "Yours faithfully", "Yours sincerely,"))
    words = sum(len(" ".join(g).split()) for g in groups) + len(closing_para.split()) + 8
    footer_every = rng.randint(3, 7)
    pending_facts = list(facts_sent)
    rng.shuffle(pending_facts)
    body_paras = 0
    while words < target or pending_facts:
        if body_paras and rng.random() < 0.22:
            items = []
            for _ in range(rng.randint(3, 6)):
                it = _fill(decks["bullets"].draw(), slots)
                if rng.random() < 0.5:
                    it = it + ("." if rng.random() < 0.5 else ";")
                items.append(it)
            bullet = rng.choice(("- ", "- ", "\u2022 ", "* "))  # drawn for every format (stable stream)
            group = [_fill(decks["intro"].draw(), slots)] + [bullet + it for it in items]
        else:
            theme = rng.choice(themes)
            n = rng.randint(2, 6)
            sents = []
            for k in range(n):
                src = theme if k == 0 or rng.random() < 0.6 else rng.choice(themes)
                sents.append(_fill(decks[src].draw(), slots))
            if pending_facts and (rng.random() < 0.6 or words + 150 > target):
                sents.insert(rng.randint(0, len(sents)), pending_facts.pop())
            group = [" ".join(sents)]
        groups.append(group)
        body_paras += 1
        words += sum(len(x.split()) for x in group)
        if footer and body_paras % footer_every == 0:
            groups.append(list(footer))
            words += sum(len(x.split()) for x in footer)
    groups.append([closing_para])
    groups.append([sign_off])
    sig = [sender + (post if rng.random() < 0.5 else ""), f"{B0}{role}{B1}" if rng.random() < 0.35 else role]
    if combined and rng.random() < 0.3 and role.startswith("Deputy"):
        sig.append(f"On behalf of the Mayor of {area}")
    groups.append(sig)
    if footer:
        groups.append(list(footer))

    # --- render ------------------------------------------------------------
    txt_markup = rng.random() < 0.5  # some .txt files keep markdown artefacts, as in the real corpus
    if fmt == "md" or (fmt == "txt" and txt_markup):
        markup = "md"
    else:
        markup = "plain" if fmt == "txt" else fmt
    text = _render_text(groups, markup, sup=(fmt in ("txt", "md")))
    date_text = _render_line(date_marked, markup, sup=(fmt in ("txt", "md")))

    all_qa = [
        (f"Who signed the {area} response to the HMICFRS {topic['short']} report dated {date.isoformat()}?", sender),
        (f"What date is given on {sender}'s letter about {topic['label']}?", date_text),
        (f"To whom was {sender}'s letter about {topic['label']} addressed?", recipient),
    ]
    if reference:
        all_qa.append((f"What is the reference on {sender}'s letter about {topic['label']}?", reference))
    all_qa.extend(qa)
    all_qa = [(q, _render_line(a, markup, sup=False)) for q, a in all_qa]
    for q, a in all_qa:  # cheap self-check; a bug here should fail loudly
        if a not in text:
            raise AssertionError(f"letter {i}: answer {a!r} not in text")

    file_name = f"{i:06d}-{_slug(area)}-{date.isoformat()}-{_slug(topic_key)}-response.{fmt}"
    return SynthLetter(
        index=i, seed=seed, file_name=file_name, format=fmt, text=text, sender=sender, role=role,
        organisation=org, area=area, date_iso=date.isoformat(), date_text=date_text, recipient=recipient,
        reference=reference, amount=amount, officers=officers, programme=programme,
        pilot=all_qa[-1][1], topic=topic_key, report_title=_render_line(report, markup, sup=False),
        qa=tuple(all_qa), lines=tuple(tuple(g) for g in groups),
    )


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------
_PDF_MAP = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2026": "...", "\u2022": "-", "\t": "    ", "\u00a0": " ",
})


def _pdf_safe(s: str) -> str:
    return s.translate(_PDF_MAP).encode("latin-1", "replace").decode("latin-1")


def _render_line(line: str, markup: str, sup: bool) -> str:
    if markup == "md":
        line = line.replace(B0, "**").replace(B1, "**").replace(I0, "*").replace(I1, "*")
        line = _LINK_RE.sub(lambda m: f"[{m.group(1)}]({m.group(2)})", line)
    else:
        line = line.replace(B0, "").replace(B1, "").replace(I0, "").replace(I1, "")
        line = _LINK_RE.sub(lambda m: m.group(1), line)
    if sup:
        line = line.replace(S0, "<sup>").replace(S1, "</sup>")
    else:
        line = line.replace(S0, "").replace(S1, "")
    if markup == "pdf":
        line = _pdf_safe(line)
    return line


def _render_text(groups, markup: str, sup: bool) -> str:
    return "\n\n".join("\n".join(_render_line(l, markup, sup) for l in g) for g in groups) + "\n"


def render_pdf(letter: SynthLetter) -> bytes:
    """Render a letter as a real PDF (core Helvetica font, latin-1 text layer)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(_dt.datetime(2000 + letter.index % 25, 1, 1, tzinfo=_dt.timezone.utc))
    pdf.set_title(_pdf_safe(letter.file_name))
    pdf.set_author(_pdf_safe(letter.sender))
    pdf.set_creator("bench.synth")
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(20, 18, 20)
    pdf.add_page()
    for g in letter.lines:
        for raw in g:
            bold = raw.startswith(B0) and raw.endswith(B1)
            pdf.set_font("Helvetica", "B" if bold else "", 10.5)
            pdf.multi_cell(0, 5, _render_line(raw, "pdf", sup=False), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    return bytes(pdf.output())


_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def render_docx(letter: SynthLetter) -> bytes:
    """Render a letter as .docx; one paragraph per line, an empty paragraph between groups.

    ``"\\n".join(p.text for p in Document(...).paragraphs)`` equals ``letter.text``
    minus its final newline.  Zip timestamps and core properties are fixed so
    the bytes are deterministic.
    """
    import docx  # python-docx

    doc = docx.Document()
    cp = doc.core_properties
    fixed = _dt.datetime(2020, 1, 1)
    cp.created = cp.modified = cp.last_printed = fixed
    cp.author = cp.last_modified_by = letter.sender
    cp.title = letter.file_name
    cp.revision = 1
    # the default template starts with no paragraphs
    first = True
    for g in letter.lines:
        if not first:
            doc.add_paragraph("")
        first = False
        for raw in g:
            bold = raw.startswith(B0) and raw.endswith(B1)
            p = doc.add_paragraph()
            run = p.add_run(_render_line(raw, "docx", sup=False))
            run.bold = bold or None
    buf = io.BytesIO()
    doc.save(buf)
    # normalise zip entry timestamps for byte-level determinism
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            zout.writestr(zi, zin.read(info.filename))
    return out.getvalue()


# ---------------------------------------------------------------------------
# Corpus writing
# ---------------------------------------------------------------------------
def _text_letter(i: int, seed: int) -> SynthLetter:
    """Letter *i* as .txt/.md (its own draw), ignoring the default binary cadence."""
    rng = random.Random(f"{seed}:{i}")
    return generate_letter(i, seed, fmt="md" if rng.random() < 0.3 else "txt")

def write_corpus(out_dir: Path, n: int, seed: int = 0, pdf_every: int = 50, docx_every: int = 100,
                 stats: dict | None = None) -> list[Path]:
    """Write letters ``0..n-1`` under ``out_dir/<year>/`` and return their paths (in index order).

    Every ``pdf_every``-th letter is a PDF and every ``docx_every``-th a DOCX
    (see :func:`letter_format`); the rest are .txt or .md.  Existing files are
    overwritten.  If ``stats`` is given it is filled with counts per format and
    the total word count.
    """
    out_dir = Path(out_dir)
    paths: list[Path] = []
    made: set[Path] = set()
    counts = {"txt": 0, "md": 0, "pdf": 0, "docx": 0}
    words = 0
    for i in range(n):
        forced = letter_format(i, pdf_every, docx_every)
        letter = generate_letter(i, seed, fmt=forced) if forced else _text_letter(i, seed)
        path = out_dir / letter.relative_path
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        if letter.format == "pdf":
            path.write_bytes(render_pdf(letter))
        elif letter.format == "docx":
            path.write_bytes(render_docx(letter))
        else:
            path.write_text(letter.text, encoding="utf-8")
        counts[letter.format] += 1
        words += letter.word_count
        paths.append(path)
    if stats is not None:
        stats.update(counts=counts, words=words)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.synth", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output directory")
    ap.add_argument("--n", type=int, default=1000, help="number of letters")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pdf-every", type=int, default=50)
    ap.add_argument("--docx-every", type=int, default=100)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    stats: dict = {}
    paths = write_corpus(args.out, args.n, args.seed, args.pdf_every, args.docx_every, stats=stats)
    dt = time.perf_counter() - t0
    c = stats["counts"]
    mean = stats["words"] / max(1, len(paths))
    print(f"wrote {len(paths)} files to {args.out} (txt={c['txt']} md={c['md']} pdf={c['pdf']} docx={c['docx']}); "
          f"words={stats['words']} mean={mean:.0f}; {dt:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
