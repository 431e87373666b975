"""Generated data (schema, balance, coverage, the rule) and the CSV loader's handling of bad files."""

from __future__ import annotations

import pandas as pd
import pytest

from ml.data import (
    HOLDOUT_SHAPES,
    HOLDOUT_YEARS,
    OUT_OF_RANGE_YEARS,
    REFERENCE_SHAPES,
    TRAIN_SHAPES,
    TRAIN_YEARS,
    DataError,
    data_digest,
    generate,
    held_out_sets,
    load_csv,
    split,
)
from ml.domain import CONDITIONS, MATERIALS, label_for


@pytest.fixture(scope="module")
def rich() -> pd.DataFrame:
    return generate(20_000, seed=3)


def test_schema(rich):
    assert list(rich.columns[:2]) == ["text", "label"]
    assert rich["text"].map(type).eq(str).all() and rich["text"].str.strip().ne("").all()
    assert set(rich["label"].unique()) == {0, 1}


def test_labels_are_balanced_about_fifty_fifty(rich):
    assert 0.47 < rich["label"].mean() < 0.53


def test_labels_follow_the_rule(rich):
    expected = [label_for(year=r.year, condition=r.condition, material=r.material) for r in rich.itertuples()]
    assert rich["label"].tolist() == expected


def test_every_attribute_value_and_shape_occurs(rich):
    assert set(rich["material"]) == set(MATERIALS)
    assert set(rich["condition"]) == set(CONDITIONS)
    assert rich["shape"].nunique() == len(TRAIN_SHAPES)
    assert rich["component"].nunique() >= 30
    assert rich["year"].min() < 1850 and rich["year"].max() > 2020


def test_compliant_rows_need_every_condition(rich):
    ok = rich[rich["label"] == 0]
    assert (
        (ok["year"] >= 1995).all() and ok["condition"].isin(["good", "new"]).all() and ok["material"].isin(["steel", "carbon fiber"]).all()
    )


def test_text_varies_in_case_punctuation_and_numbers(rich):
    texts = rich["text"]
    assert texts.str.isupper().mean() > 0.05 and texts.str.islower().mean() > 0.05
    assert texts.str.contains(r"PN |S/N |qty |lot |part #", case=False).mean() > 0.2
    assert texts.str.contains(";").any() and texts.str.contains(r"\|").any()


def test_reference_examples_are_labelled_by_the_rule():
    assert label_for(year=1985, condition="fair", material="steel") == 1
    assert label_for(year=2010, condition="good", material="carbon fiber") == 0
    assert label_for(year=1995, condition="fair", material="steel") == 1
    assert label_for(year=1995, condition="good", material="steel") == 0


def test_reference_style_reproduces_the_three_workshop_templates():
    frame = generate(500, seed=1, style="reference")
    patterns = [t.replace("{material}", "(.+)").replace("{year}", r"(\d{4})").replace("{condition}", "(.+)") for t in REFERENCE_SHAPES]
    lowered = frame["text"].str.lower()
    assert all(any(pd.Series([t]).str.fullmatch(p).iloc[0] for p in patterns) for t in lowered)
    assert frame["shape"].nunique() == 3


def test_held_out_shapes_and_years_never_appear_in_training_data(rich):
    assert not set(HOLDOUT_SHAPES) & set(TRAIN_SHAPES)
    assert not rich["year"].isin(HOLDOUT_YEARS).any()
    assert rich["year"].between(*TRAIN_YEARS).all()
    sets = held_out_sets(500)
    assert sets["holdout_years"]["year"].isin(HOLDOUT_YEARS).all()
    out = sets["out_of_range_years"]["year"]
    assert (out.between(*OUT_OF_RANGE_YEARS[0]) | out.between(*OUT_OF_RANGE_YEARS[1])).all()
    assert sets["holdout_shapes"]["shape"].str.startswith("rich-holdout").all()


def test_generation_is_deterministic_per_seed():
    assert generate(300, seed=5).equals(generate(300, seed=5))
    assert not generate(300, seed=5)["text"].equals(generate(300, seed=6)["text"])


def test_split_is_90_5_5_and_loses_no_row(rich):
    train, val, test = split(rich)
    assert (len(train), len(val), len(test)) == (18_000, 1_000, 1_000)
    assert sorted(pd.concat([train, val, test])["text"]) == sorted(rich["text"])


def test_digest_changes_with_any_label():
    frame = generate(50, seed=1)
    flipped = frame.copy()
    flipped.loc[0, "label"] = 1 - flipped.loc[0, "label"]
    assert data_digest(frame) == data_digest(frame.copy()) != data_digest(flipped)


# ---------------------------------------------------------------- the loader


def _write(tmp_path, content: bytes | str, name: str = "in.csv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_loads_a_good_file_with_extra_columns_and_keeps_every_row(tmp_path):
    path = _write(tmp_path, 'text,label,site\n"Steel bracket, 2001, good",0,A\nIron gear 1980 poor,1,B\n')
    frame = load_csv(path)
    assert len(frame) == 2 and frame["label"].tolist() == [0, 1] and frame["site"].tolist() == ["A", "B"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"text\nsteel gear\n", "missing column"),
        (b"label,comment\n1,x\n", "missing column"),
        (b"text,label\n", "no rows"),
        (b"text,label\nsteel gear 2001 good,0\niron gear,2\nplastic cup,yes\n", r"label not 0 or 1 in row\(s\) 3, 4"),
        (b"text,label\nsteel gear 2001 good,0\n   ,1\n,0\n", r"empty text in row\(s\) 3, 4"),
        (b"text,label\ncaf\xe9 steel,0\n", "not UTF-8: invalid byte at line 2"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b'text,label\n"unterminated quote,0\nsteel,1\n', "well-formed"),
        (b"text,label\nsteel gear,0,extra,fields\n", "well-formed"),
        (("text,label\n" + "x" * 5000 + ",1\n").encode(), "longer than 2000"),
    ],
    ids=[
        "empty-file",
        "whitespace-only",
        "no-label-column",
        "no-text-column",
        "header-only",
        "labels-not-0-1",
        "empty-and-blank-text",
        "non-utf8-latin1",
        "binary-png",
        "unterminated-quote",
        "too-many-fields",
        "huge-text-cell",
    ],
)
def test_bad_files_are_rejected_with_a_clear_message(tmp_path, content, message):
    with pytest.raises(DataError, match=message):
        load_csv(_write(tmp_path, content))


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        load_csv(tmp_path / "nope.csv")


def test_script_injection_text_is_kept_verbatim(tmp_path):
    text = "<script>alert(1)</script> steel gear 2001; DROP TABLE x;--"
    frame = load_csv(_write(tmp_path, pd.DataFrame({"text": [text], "label": [1]}).to_csv(index=False)))
    assert frame["text"].iloc[0] == text


def test_utf8_bom_and_unicode_text_load(tmp_path):
    frame = load_csv(_write(tmp_path, "\ufefftext,label\nAcier façonné 2001 bon état,0\n"))
    assert frame["text"].iloc[0].startswith("Acier")
