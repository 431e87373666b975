"""Typo snapping in the tokenizer (spec version 2): each edit kind, ambiguity, the never-snap list, old specs."""

from __future__ import annotations

import json

import pytest

from ml.text import SPEC_VERSION, UNK, TokenizerError, TokenizerSpec, build_spec, encode, unknown_share
from ml.typo_snap import NEVER_SNAP, edit_kind, snap

CORPUS = [
    "Steel brake rotor made in 1985, fair condition",
    "Good condition carbon fiber bracket manufactured in 2010",
    "manufactured in 1995 made of iron in poor condition",
    "new plastic flange produced in 2001, good condition",
]


@pytest.fixture(scope="module")
def spec() -> TokenizerSpec:
    return build_spec(CORPUS, max_length=24)


@pytest.mark.parametrize(
    "typo, kind",
    [("stel", "deletion"), ("steal", "substitution"), ("setel", "transposition"), ("steeel", "insertion")],
)
def test_each_edit_kind_snaps_to_the_word(spec, typo, kind):
    assert edit_kind("steel", typo) == kind
    assert encode(f"made of {typo}", spec) == encode("made of steel", spec)


def test_typos_of_condition_and_year_phrase_words_snap(spec):
    assert encode("manufatured in 1985, condition poo", spec) == encode("manufactured in 1985, condition poor", spec)
    assert encode("neu conditon", spec) == encode("new condition", spec)


def test_two_edits_and_short_words_stay_unknown(spec):
    unk = spec.index[UNK]
    assert encode("stl", spec) == [unk]  # two deletions from "steel"
    assert snap("ne", ("new",)) is None  # under three letters


def test_a_word_one_edit_from_two_targets_does_not_snap():
    assert snap("pood", ("poor", "good")) is None
    assert snap("pood", ("poor",)) == "poor"


def test_never_snap_words_stay_unknown(spec):
    for word in ("pair", "wood", "pour", "icon"):
        assert word in NEVER_SNAP and spec.token_id(word) == spec.index[UNK]


def test_known_words_are_never_snapped(spec):
    assert spec.token_id("made") == spec.index["made"]  # "made" is in the vocabulary: read as itself


def test_snapped_words_count_as_known_for_monitoring(spec):
    assert unknown_share("stel flange", spec) == 0.0
    assert unknown_share("zzzz flange", spec) == 0.5


def test_build_spec_leaves_rare_typos_out_so_they_snap():
    corpus = ["steel bracket good condition"] * 40 + ["stel bracket good condition"]
    spec = build_spec(corpus)
    assert "stel" not in spec.index and spec.token_id("stel") == spec.index["steel"]
    assert spec.version == SPEC_VERSION == 2 and "steel" in spec.snap_targets


def test_version_1_spec_loads_and_never_snaps(spec, tmp_path):
    data = spec.to_dict()
    for key in ("snap_targets", "never_snap"):
        data.pop(key)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps({**data, "version": 1}))
    old = TokenizerSpec.load(path)
    assert old.version == 1 and old.snap_targets == ()
    assert old.token_id("stel") == old.index[UNK] and spec.token_id("stel") == spec.index["steel"]
    assert "snap_targets" not in old.to_dict()  # saved again, it is still a version 1 file


def test_v2_spec_round_trips_with_its_targets(spec, tmp_path):
    loaded = TokenizerSpec.load(spec.save(tmp_path / "tokenizer.json"))
    assert loaded.snap_targets == spec.snap_targets and loaded.token_id("setel") == loaded.index["steel"]


@pytest.mark.parametrize("version", [0, 3, 99])
def test_unknown_versions_are_refused_at_load(spec, tmp_path, version):
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps({**spec.to_dict(), "version": version}))
    with pytest.raises(TokenizerError, match=f"version {version} is not supported"):
        TokenizerSpec.load(path)


def test_a_v2_spec_without_targets_field_is_refused(spec):
    data = spec.to_dict()
    data.pop("snap_targets")
    with pytest.raises(TokenizerError, match="snap_targets"):
        TokenizerSpec.from_dict(data)
