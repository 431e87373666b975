"""Blocks of a small specification that the document tests write in every format."""

from __future__ import annotations

from ml.documents.blocks import HEADING, LIST_ITEM, PARAGRAPH, TABLE, Block

TABLE_ROWS = (
    ("Component", "Material", "Year", "Condition"),
    ("rear axle", "plastic", "2019", "good"),
    ("front bumper", "stainless steel", "2012", "new"),
    ("brake disc", "cast iron", "1990", "fair"),
)
SENTENCES = (
    "The steering rack is made of carbon fiber, built in 2015 and in good condition.",
    "The fuel tank was made of plastic in 1988 and is in poor condition.",
)
ITEMS = ("Exhaust manifold of steel from 2008, condition new", "Door hinge made of iron, 1999, good condition")


def spec_blocks() -> list[Block]:
    return [
        Block(HEADING, "Vehicle specification VS-2041"),
        Block(PARAGRAPH, "This document lists the components delivered with the vehicle. Approved for release."),
        Block(PARAGRAPH, " ".join(SENTENCES)),
        *[Block(LIST_ITEM, item) for item in ITEMS],
        Block(TABLE, rows=TABLE_ROWS),
        Block(PARAGRAPH, "Revision 3, 12 March 2024. Contact: 14 Harbour Road, Bristol."),
    ]
