"""The sample specifications `make run` scans at the end (`python -m ml specs --out data/specs`): realistic
documents with a heading, paragraphs, bullets and a table, one per format, each with its expected verdict."""

from __future__ import annotations

from pathlib import Path

from ml.data.spec_files import write_spec
from ml.documents.blocks import HEADING, LIST_ITEM, PARAGRAPH, TABLE, Block

SAMPLES: dict[str, tuple[str, list[Block]]] = {
    "brake-system-spec.pdf": (
        "non-compliant",
        [
            Block(HEADING, "Norvik Motors NX-400 van: brake system specification"),
            Block(PARAGRAPH, "This document lists the brake components delivered with vehicle 4471. Approved for release."),
            Block(PARAGRAPH, "The brake caliper is made of stainless steel, manufactured in 2019 and in good condition."),
            Block(LIST_ITEM, "Brake rotor: carbon steel, made in 2018, new condition"),
            Block(LIST_ITEM, "Hose clamp: ABS plastic, manufactured in 2017, good condition"),
            Block(
                TABLE,
                rows=(
                    ("Component", "Material", "Year", "Condition", "Part no."),
                    ("wheel hub", "galvanized steel", "2016", "good", "PN-4412"),
                    ("bearing housing", "cast iron", "1988", "poor", "PN-2208"),
                    ("brake rotor", "carbon fiber", "2021", "new", "PN-7731"),
                ),
            ),
            Block(PARAGRAPH, "Revision 4, 12 March 2024. Norvik Motors, 14 Harbour Road, Bristol."),
        ],
    ),
    "chassis-spec.docx": (
        "compliant",
        [
            Block(HEADING, "Halden T7 truck: chassis components"),
            Block(PARAGRAPH, "Prepared for Halden Automotive by the quality department. All dimensions are in millimetres."),
            Block(PARAGRAPH, "The frame rail is made of galvanized steel, built in 2015 and in new condition."),
            Block(LIST_ITEM, "Engine mount - stainless steel, good condition, manufactured in 2014"),
            Block(LIST_ITEM, "Drive shaft: carbon fiber, made in 2020, new condition"),
            Block(
                TABLE,
                rows=(
                    ("Part", "Material", "Year of manufacture", "Condition"),
                    ("axle", "carbon steel", "2012", "good"),
                    ("coil spring", "stainless steel", "2019", "new"),
                    ("tow bar", "steel", "2016", "good"),
                ),
            ),
            Block(PARAGRAPH, "Approved by A. Novak, chief engineer. Document SPEC-2210, version 2.1."),
        ],
    ),
    "interior-spec.md": (
        "non-compliant",
        [
            Block(HEADING, "City bus B12: interior fittings"),
            Block(PARAGRAPH, "The following table lists the parts inspected on 4 June 2024. Confidential: for internal use only."),
            Block(PARAGRAPH, "The seat frame is made of carbon steel, manufactured in 2011 and in good condition."),
            Block(LIST_ITEM, "Door handle: nylon plastic, made in 2009, fair condition"),
            Block(LIST_ITEM, "Access panel: carbon fibre, manufactured in 2022, new condition"),
            Block(
                TABLE,
                rows=(
                    ("Item", "Made of", "Built", "State"),
                    ("hinge", "stainless steel", "2013", "good"),
                    ("cover plate", "wrought iron", "1979", "fair"),
                ),
            ),
            Block(PARAGRAPH, "Signed: M. Okafor, 5 June 2024. Contact: okafor@example.com, phone +44 117 4960."),
        ],
    ),
    "cooling-spec.html": (
        "compliant",
        [
            Block(HEADING, "Service vehicle SV-3: cooling system"),
            Block(PARAGRAPH, "This specification supersedes revision 2. Questions about this specification go to brandt@example.com."),
            Block(PARAGRAPH, "The fan blade is made of carbon fiber, built in 2018 and in good condition."),
            Block(LIST_ITEM, "Pump impeller: stainless steel, made in 2017, new condition"),
            Block(LIST_ITEM, "Air duct: carbon steel, manufactured in 2015, good condition"),
            Block(
                TABLE,
                rows=(
                    ("Component", "Material", "Year", "Condition", "Ref"),
                    ("intake manifold", "stainless steel", "2016", "good", "R644"),
                    ("pipe fitting", "galvanized steel", "2019", "new", "R1987"),
                ),
            ),
            Block(PARAGRAPH, "Released by Castor Fleet Services engineering on 2 May 2024."),
        ],
    ),
}


def expected_verdicts() -> dict[str, str]:
    return {name: verdict for name, (verdict, _) in SAMPLES.items()}


def write_samples(folder: str | Path) -> list[Path]:
    """Write every sample into `folder` (created); returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (_, blocks) in SAMPLES.items():
        path = folder / name
        path.write_bytes(write_spec(blocks, name.rsplit(".", 1)[1], title=blocks[0].text))
        paths.append(path)
    return paths
