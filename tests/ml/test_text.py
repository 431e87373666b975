"""The one tokenizer: spec round trip, number handling, and property tests over any unicode input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.text import (
    BIGNUM,
    NUMERIC_FEATURES,
    UNK,
    TokenizerError,
    TokenizerSpec,
    build_spec,
    encode,
    encode_batch,
    numeric_features,
    split_tokens,
    unknown_share,
)

CORPUS = [
    "Steel brake rotor made in 1985, fair condition",
    "Good condition carbon fiber component manufactured in 2010",
    "manufactured in 1995 made of iron in poor condition",
]


@pytest.fixture(scope="module")
def spec() -> TokenizerSpec:
    return build_spec(CORPUS, max_length=16)


def test_years_become_place_value_digits_not_unknown_words(spec):
    assert split_tokens("made in 1985") == ["made", "in", "#3:1", "#2:9", "#1:8", "#0:5"]
    # 2077 never occurs in the corpus, yet every one of its tokens is known.
    ids = encode("made in 2077", spec)
    assert spec.index[UNK] not in ids


def test_long_digit_runs_collapse_to_one_token():
    assert split_tokens("S/N 88231455") == ["s", "n", BIGNUM]


def test_casing_punctuation_and_spacing_do_not_change_ids(spec):
    a = encode("Steel brake rotor, made in 1985 - FAIR condition.", spec)
    b = encode("steel  brake rotor made in 1985 fair condition", spec)
    assert a == b


def test_fullwidth_digits_and_letters_normalise_like_ascii(spec):
    assert encode("ｍａｄｅ ｉｎ １９８５", spec) == encode("made in 1985", spec)


def test_batch_is_padded_int64_and_truncated(spec):
    ids = encode_batch(["steel", "made in 1985 " * 10], spec)
    assert ids.dtype == np.int64 and ids.shape == (2, 16)
    assert ids[0, 1:].sum() == 0 and (ids[1] > 0).all()


def test_spec_round_trips_through_json(spec, tmp_path):
    loaded = TokenizerSpec.load(spec.save(tmp_path / "tokenizer.json"))
    assert loaded == spec
    assert encode_batch(CORPUS, loaded).tolist() == encode_batch(CORPUS, spec).tolist()


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "cannot read"),
        (json.dumps({"vocab": ["a"]}), "missing"),
        (
            json.dumps({"vocab": ["x", "<unk>", "<bignum>"], "max_length": 4, "lowercase": True, "unicode_form": "NFKC", "version": 1}),
            "must start",
        ),
        (
            json.dumps(
                {"vocab": ["<pad>", "<unk>", "<bignum>"], "max_length": 4, "lowercase": True, "unicode_form": "NFKC", "version": 99}
            ),
            "version",
        ),
    ],
    ids=["corrupt-json", "missing-fields", "bad-reserved-tokens", "future-version"],
)
def test_bad_spec_files_raise_clear_errors(tmp_path, content, message):
    path = tmp_path / "tokenizer.json"
    path.write_text(content)
    with pytest.raises(TokenizerError, match=message):
        TokenizerSpec.load(path)


def test_numeric_features_are_ordinal_thermometer_codes(spec):
    table = numeric_features(spec)
    assert table.shape == (spec.vocab_size, NUMERIC_FEATURES)
    seven, five = table[spec.index["#0:7"]], table[spec.index["#0:5"]]
    assert seven[0] == 1 and seven[1:8].sum() == 7 and seven[8:10].sum() == 0
    assert (seven >= five).all()  # larger digits switch on a superset of bits
    assert table[spec.index["steel"]].sum() == 0


def test_unknown_share_counts_words_outside_the_vocabulary(spec):
    assert unknown_share("titanium bracket made in 2001", spec) == pytest.approx(2 / 8)  # 8 tokens: 4 words + 4 digits
    assert unknown_share("", spec) == 0.0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_unicode_text_encodes_to_valid_ids(text):
    spec = build_spec(CORPUS, max_length=16)
    ids = encode_batch([text, text], spec)
    assert ids.shape == (2, 16)
    assert ((ids >= 0) & (ids < spec.vocab_size)).all()
    assert ids[0].tolist() == ids[1].tolist()  # deterministic
    assert len(encode(text, spec)) <= 16


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=6))
def test_encoding_to_the_longest_text_is_the_padded_encoding_cut(texts):
    from ml.predictor import cut_padding

    spec = build_spec(CORPUS, max_length=16)
    padded = encode_batch(texts, spec)
    np.testing.assert_array_equal(encode_batch(texts, spec, to_longest=True), cut_padding(padded) if texts else padded[:, :1])


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=999_999))
def test_every_number_up_to_six_digits_is_fully_known(number):
    spec = build_spec([], max_length=8)
    ids = encode(str(number), spec)
    assert len(ids) == len(str(number)) and spec.index[UNK] not in ids


def _regex_tokens(text: str, unicode_form: str, lowercase: bool) -> list[str]:
    """The tokenizer as first written: one regex over the normalized text (the fast ASCII path must agree)."""
    from ml.text import _TOKEN_RE, _number_tokens, normalize

    found = _TOKEN_RE.findall(normalize(text, unicode_form=unicode_form, lowercase=lowercase))
    return [token for piece in found for token in (_number_tokens(piece) if piece[0].isdigit() else [piece])]


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.text(alphabet="aZ9 m8_-./:;,\t\n0", max_size=40), st.text(max_size=40)),
    st.sampled_from(["NFKC", "NFC"]),
    st.booleans(),
)
def test_the_ascii_fast_path_splits_as_the_regex_does(text, unicode_form, lowercase):
    # tried: ASCII letters, digits, underscores and punctuation glued together ("m8_x"), and any unicode text
    assert split_tokens(text, unicode_form=unicode_form, lowercase=lowercase) == _regex_tokens(text, unicode_form, lowercase)
