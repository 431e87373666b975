"""GloVe: the standard text format (file written by the test) and training with the GloVe objective."""

from __future__ import annotations

import numpy as np
import pytest

from ml.glove import GloveError, cooccurrence, load_glove_text, save_glove_text, train_glove, train_glove_on_corpus
from ml.text import build_spec, encode_batch

CORPUS = ["steel gear in good condition", "iron gear in poor condition", "steel bracket in new condition"] * 20


@pytest.fixture(scope="module")
def spec():
    return build_spec(CORPUS, max_length=8)


def test_loads_standard_glove_text_and_reports_coverage(spec, tmp_path):
    path = tmp_path / "glove.test.4d.txt"
    path.write_text("steel 0.1 0.2 0.3 0.4\ngear -1 0 1 2\nunrelated 9 9 9 9\n", encoding="utf-8")
    vectors = load_glove_text(path, spec)
    assert vectors.dim == 4 and vectors.matrix.shape == (spec.vocab_size, 4)
    np.testing.assert_allclose(vectors.matrix[spec.index["steel"]], [0.1, 0.2, 0.3, 0.4])
    assert (vectors.matrix[0] == 0).all()
    assert vectors.provenance["source"] == "file" and 0 < vectors.provenance["coverage"] < 1
    assert len(vectors.provenance["sha256"]) == 64


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "holds no vectors"),
        (b"steel 0.1 0.2\ngear 0.1\n", "line 2 has 1 values, expected 2"),
        (b"steel 0.1 abc\n", "not a number"),
        (b"st\xffeel 0.1 0.2\n", "line 1 is not UTF-8"),
        (b"steel\n", "no vector values"),
    ],
    ids=["empty-file", "ragged-dimensions", "non-numeric-value", "non-utf8-word", "word-without-vector"],
)
def test_bad_glove_files_are_rejected(spec, tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(GloveError, match=message):
        load_glove_text(path, spec)


def test_cooccurrence_is_symmetric_and_distance_weighted(spec):
    ids = encode_batch(["steel gear good"], spec)
    counts = cooccurrence(ids, spec.vocab_size, window=2)
    s, g, o = spec.index["steel"], spec.index["gear"], spec.index["good"]
    assert counts[s, g] == counts[g, s] == 1.0
    assert counts[s, o] == counts[o, s] == 0.5
    assert counts[0].sum() == 0  # padding never co-occurs


def test_training_fits_the_glove_objective(spec):
    ids = encode_batch(CORPUS, spec)
    short = train_glove(cooccurrence(ids, spec.vocab_size), dim=16, epochs=2, seed=1)
    longer = train_glove(cooccurrence(ids, spec.vocab_size), dim=16, epochs=200, seed=1)
    assert longer.provenance["final_loss"] < short.provenance["final_loss"] / 2
    vectors = longer.matrix
    assert vectors.shape == (spec.vocab_size, 16) and (vectors[0] == 0).all() and np.isfinite(vectors).all()


def test_trained_vectors_round_trip_through_the_text_format(spec, tmp_path):
    vectors = train_glove_on_corpus(encode_batch(CORPUS, spec), spec, dim=8, epochs=20)
    loaded = load_glove_text(save_glove_text(vectors, spec, tmp_path / "v.txt"), spec)
    np.testing.assert_allclose(loaded.matrix, vectors.matrix, atol=1e-5)
