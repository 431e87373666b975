import pytest

from ml.data import generate, held_out_sets
from monitoring.extract import extract, extract_frame


@pytest.mark.parametrize(
    "frame_name",
    ["train", "reference_style", "holdout_shapes", "holdout_years", "out_of_range_years"],
)
def test_extractor_reads_every_generator_variant(frame_name):
    frames = {"train": generate(3000, seed=5), "reference_style": generate(600, seed=5, style="reference")}
    frames.update(held_out_sets(600, seed=9))
    frame = frames[frame_name]
    got = extract_frame(frame["text"])
    for col in ("year", "material", "condition"):
        wrong = got[col].to_numpy() != frame[col].to_numpy()
        assert not wrong.any(), (col, frame["text"][wrong].head(3).tolist())


@pytest.mark.parametrize(
    ("text", "year", "material", "condition"),
    [
        ("lot 1995 steel gear mfg 1985, cond. fair", 1985, "steel", "fair"),
        ("part #1990 bracket | cast iron | year of manufacture 2004 | new", 2004, "iron", "new"),
        ("S/N 19851234 CARBON-FIBER HINGE PRODUCTION YEAR 1999, CONDITION: GOOD", 1999, "carbon fiber", "good"),
        ("PN AB-1994 carbon steel axle dating from 1961 in poor condition", 1961, "steel", "poor"),
        ("aluminium bracket built in 2011, excellent condition", 2011, "other", "other"),
        ("Titanium fan blade, rated good", None, "other", "good"),
        ("a thing", None, "unknown", "unknown"),
        ("nylon plastic pulley 1999", 1999, "plastic", "unknown"),
    ],
)
def test_extractor_edge_cases(text, year, material, condition):
    got = extract(text)
    assert (got.year, got.material, got.condition) == (year, material, condition)
