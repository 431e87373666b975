"""segments.npz (the document segment score) travels in the bundle and is covered by its checksum."""

from __future__ import annotations

import shutil

import pytest

from ml.bundle import OPTIONAL_FILES, SEGMENTS_FILE, BundleError, bundle_checksum
from ml.documents.scorer import DEFAULT_SCORER, SCORER_FILE, load_scorer


def _copy(bundle, tmp_path):
    out = tmp_path / "bundle"
    shutil.copytree(bundle, out)
    return out


def test_the_layout_names_the_scorer_file():
    assert SEGMENTS_FILE == SCORER_FILE and SEGMENTS_FILE in OPTIONAL_FILES


def test_a_changed_or_removed_segments_file_changes_the_checksum(trained_bundle, tmp_path):
    bundle = _copy(trained_bundle, tmp_path)
    assert (bundle / SCORER_FILE).is_file()
    before = bundle_checksum(bundle)
    scorer = load_scorer(bundle)
    scorer.__class__(weights=scorer.weights * 0.5, bias=scorer.bias, threshold=scorer.threshold).save(bundle / SCORER_FILE)
    assert load_scorer(bundle).threshold == scorer.threshold  # still a valid file: only the checksum tells
    changed = bundle_checksum(bundle)
    assert changed != before
    (bundle / SCORER_FILE).unlink()
    assert bundle_checksum(bundle) not in (before, changed)


def test_a_bundle_without_segments_keeps_its_old_checksum(trained_bundle, tmp_path):
    bundle = _copy(trained_bundle, tmp_path)
    (bundle / SCORER_FILE).unlink()
    first = bundle_checksum(bundle)
    assert bundle_checksum(_copy(bundle, tmp_path / "again")) == first
    assert load_scorer(bundle).weights.shape == load_scorer(None).weights.shape  # the shipped default


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: data[: len(data) // 2],  # truncated zip
        lambda data: b"not a numpy archive at all",
        lambda data: bytes(b ^ 0xFF for b in data[:64]) + data[64:],  # the zip header overwritten
    ],
    ids=["truncated", "text", "garbled-header"],
)
def test_a_corrupt_segments_file_is_a_clear_bundle_error_at_load(trained_bundle, tmp_path, corrupt):
    bundle = _copy(trained_bundle, tmp_path)
    before = bundle_checksum(bundle)
    path = bundle / SCORER_FILE
    path.write_bytes(corrupt(path.read_bytes()))
    assert bundle_checksum(bundle) != before
    with pytest.raises(BundleError, match=r"segments\.npz is corrupt"):
        load_scorer(bundle)


def test_segments_with_the_wrong_shape_are_a_clear_bundle_error(trained_bundle, tmp_path):
    import numpy as np

    bundle = _copy(trained_bundle, tmp_path)
    np.savez_compressed(bundle / SCORER_FILE, weights=np.zeros(10, dtype=np.float16), bias=np.float32(0), threshold=np.float32(0.5))
    with pytest.raises(BundleError, match=r"segments\.npz is corrupt: .*shape"):
        load_scorer(bundle)
    assert DEFAULT_SCORER.is_file()
