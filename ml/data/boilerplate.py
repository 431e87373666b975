"""Generated boilerplate: the text of a specification that is not a component (headings, intros, approvals,
revision lines, addresses, notes, revision-history tables). Training styles and held-out styles differ."""

from __future__ import annotations

import numpy as np

COMPANIES = ("Norvik Motors", "Halden Automotive", "Brightline Vehicles", "Castor Fleet Services", "Ostrava Trucks", "Meridian Rail")
HOLDOUT_COMPANIES = ("Quarry Lane Coachworks", "Tamsin & Ruhr AG", "Polaris Utility Vans")
PEOPLE = ("J. Smith", "A. Novak", "M. Okafor", "L. Brandt", "S. Iyer", "K. Tanaka", "P. Moreau", "R. Silva")
CITIES = ("Bristol", "Gothenburg", "Lyon", "Brno", "Leipzig", "Porto", "Turin", "Leeds")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
TOPICS = ("Scope", "Components", "Parts list", "Inspection results", "Materials", "Summary", "Delivery", "Notes", "Bill of materials")
TRAIN_LINES = (
    "Approved for release.",
    "Approved by {person}, chief engineer.",
    "Released by {company} engineering on {date}.",
    "Revision {n}, {date}.",
    "Rev. {letter}: {change}.",
    "Document {code}, version {n}.{m}.",
    "This document lists the components delivered with the {model}.",
    "The following table lists the parts inspected on {date}.",
    "All dimensions are in millimetres unless stated otherwise.",
    "Prepared for {company} by the quality department.",
    "Page {n} of {total}",
    "Confidential: for internal use only.",
    "{num} {street}, {city}.",
    "Contact: {email}, phone +44 {phone}.",
    "Questions about this specification go to {email}.",
    "Inspection carried out by {person} at the {city} workshop.",
    "Parts marked with an asterisk were replaced during the last service.",
    "This specification supersedes revision {n}.",
    "Signed: {person}, {date}.",
    "See section {n} for the test procedure.",
    "Order {code}; delivered {date}.",
    "Invoice {code} of {date}; payment within 30 days.",
    "Work order {code}, opened {date}, closed {date}.",
    "Project {code} ({company}), phase {n}.",
    "Prepared {date}; reviewed {date}; next review {date}.",
    "Copyright {company} {year}.",
    "Reference {code}: see the attached drawing set.",
    "Distribution: {person}, {person}; file {code}.",
)
HOLDOUT_LINES = (
    "Authorised for distribution by {person}.",
    "Issue {n} dated {date} replaces all earlier issues.",
    "The vehicle was received at our {city} depot on {date}.",
    "Customer reference {code}; order placed {date}.",
    "Kindly return a signed copy to {email}.",
    "Registered office: {num} {street}, {city}.",
    "Findings below reflect the state on the day of the survey.",
    "Sheet {n} of {total}",
)
TRAIN_HEADINGS = ("{company} vehicle specification", "Section {n}: {topic}", "{topic}", "Table {n}: {topic}", "Appendix {letter}")
HOLDOUT_HEADINGS = ("Survey report for {company}", "Part {n} - {topic}")
CHANGES = ("updated the parts list", "corrected the delivery date", "first issue", "added the inspection notes", "new supplier codes")
STREETS = ("Harbour Road", "Mill Lane", "Station Street", "Kingsway", "Elm Park", "Quay Street")
MODELS = ("NX-400 van", "Halden T7 truck", "city bus B12", "service vehicle SV-3", "tractor unit R9")
REVISION_HEADERS = (("Revision", "Date", "Author", "Change"), ("Rev", "Approved by", "Date"), ("Version", "Date", "Description"))


def _date(rng: np.random.Generator) -> str:
    return f"{rng.integers(1, 29)} {MONTHS[rng.integers(12)]} {rng.integers(2015, 2027)}"


def _fill(template: str, rng: np.random.Generator, *, holdout: bool) -> str:
    companies = HOLDOUT_COMPANIES if holdout else COMPANIES
    values = {
        "person": PEOPLE[rng.integers(len(PEOPLE))],
        "company": companies[rng.integers(len(companies))],
        "date": _date(rng),
        "n": rng.integers(1, 15),
        "m": rng.integers(0, 10),
        "total": rng.integers(15, 40),
        "letter": "ABCDEFGH"[rng.integers(8)],
        "change": CHANGES[rng.integers(len(CHANGES))],
        "code": f"{['SPEC', 'DOC', 'VS', 'QA'][rng.integers(4)]}-{rng.integers(100, 9999)}",
        "model": MODELS[rng.integers(len(MODELS))],
        "num": rng.integers(1, 300),
        "street": STREETS[rng.integers(len(STREETS))],
        "city": CITIES[rng.integers(len(CITIES))],
        "email": f"{PEOPLE[rng.integers(len(PEOPLE))].split()[-1].lower()}@example.com",
        "phone": f"{rng.integers(100, 999)} {rng.integers(1000, 9999)}",
        "topic": TOPICS[rng.integers(len(TOPICS))],
        "year": rng.integers(1990, 2027),
    }
    return template.format(**values)


def boilerplate_line(rng: np.random.Generator, *, holdout: bool = False) -> str:
    lines = HOLDOUT_LINES if holdout else TRAIN_LINES
    return _fill(lines[rng.integers(len(lines))], rng, holdout=holdout)


def heading(rng: np.random.Generator, *, holdout: bool = False) -> str:
    headings = HOLDOUT_HEADINGS if holdout else TRAIN_HEADINGS
    return _fill(headings[rng.integers(len(headings))], rng, holdout=holdout)


def revision_table(rng: np.random.Generator, rows: int) -> tuple[tuple[str, ...], ...]:
    """A revision-history table: rows of a table that are not components."""
    header = REVISION_HEADERS[rng.integers(len(REVISION_HEADERS))]
    out = [header]
    for i in range(rows):
        values = {
            "Revision": str(i + 1),
            "Rev": "ABCDEFGH"[i % 8],
            "Version": f"{i + 1}.0",
            "Date": _date(rng),
            "Author": PEOPLE[rng.integers(len(PEOPLE))],
            "Approved by": PEOPLE[rng.integers(len(PEOPLE))],
            "Change": CHANGES[rng.integers(len(CHANGES))],
            "Description": CHANGES[rng.integers(len(CHANGES))],
        }
        out.append(tuple(values[h] for h in header))
    return tuple(out)
