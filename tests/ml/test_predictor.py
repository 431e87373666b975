"""The inference bundle and Predictor: raw text in, labels out, numpy + onnxruntime only."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from common.paths import PROJECT_ROOT
from ml.bundle import BUNDLE_FILES, BundleError, bundle_checksum, check_bundle, copy_bundle, read_card, write_card
from ml.predictor import Predictor
from ml.text import TokenizerSpec, encode_batch


def test_predictor_labels_raw_text(trained_bundle, reference_examples):
    predictor = Predictor.from_bundle(trained_bundle)
    texts = [t for t, _ in reference_examples]
    predictions = predictor.predict(texts)
    assert [p.label for p in predictions] == [y for _, y in reference_examples]
    assert all(p.label_name == ("non-compliant" if p.label else "compliant") for p in predictions)
    probs = predictor.predict_proba(texts * 700)  # crosses the internal batch boundary
    assert probs.shape == (2100,) and np.allclose(probs[:3], [p.probability for p in predictions], atol=1e-6)
    assert predictor.version == predictor.card.run_id


def test_predictor_rejects_a_bare_string(trained_bundle):
    with pytest.raises(TypeError, match="sequence of texts"):
        Predictor.from_bundle(trained_bundle).predict_proba("steel gear")


def test_serving_and_training_produce_identical_token_ids(trained_run, trained_bundle):
    """One tokenizer: ids from the bundle's saved spec equal ids from the spec used in training."""
    from ml.data import load_csv, split
    from ml.text import build_spec
    from ml.training_steps import MIN_COUNT

    frame = load_csv(trained_run.config.data)
    train_df, _, test_df = split(frame, seed=7)
    training_spec = build_spec(train_df["text"], max_length=trained_run.config.max_length, min_count=MIN_COUNT)
    served = Predictor.from_bundle(trained_bundle)
    texts = [*test_df["text"].tolist()[:500], "ＵＮＩＣＯＤＥ títánium gear 2077 ✓", "", "made of seel in 2025, conditon poo"]
    assert np.array_equal(served.encode(texts), encode_batch(texts, training_spec))
    assert served.spec == TokenizerSpec.load(trained_bundle / "tokenizer.json") == training_spec


def test_a_version_1_tokenizer_bundle_loads_and_never_snaps(trained_bundle, tmp_path):
    """Bundles trained before typo snapping keep encoding as they did; the current bundle snaps."""
    old = tmp_path / "v1"
    copy_bundle(trained_bundle, old)
    data = json.loads((old / "tokenizer.json").read_text())
    data = {k: v for k, v in data.items() if k not in ("snap_targets", "never_snap")} | {"version": 1}
    (old / "tokenizer.json").write_text(json.dumps(data))
    v1, v2 = Predictor.from_bundle(old), Predictor.from_bundle(trained_bundle)
    assert v1.spec.version == 1 and v2.spec.version == 2
    clean = ["Steel gear manufactured in 2004 in good condition"]
    assert np.array_equal(v1.encode(clean), v2.encode(clean))
    typo, fixed = ["Steel gear manufactured in 2004 in goood condition"], ["Steel gear manufactured in 2004 in good condition"]
    assert not np.array_equal(v1.encode(typo), v1.encode(fixed)) and np.array_equal(v2.encode(typo), v2.encode(fixed))


def test_importing_the_predictor_never_imports_torch_or_mlflow(trained_bundle):
    code = (
        "import sys; from ml.predictor import Predictor; "
        f"p = Predictor.from_bundle({str(trained_bundle)!r}); p.predict(['steel gear 2001 good']); "
        "bad = [m for m in ('torch', 'mlflow', 'evidently', 'sklearn') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", BUNDLE_FILES)
def test_incomplete_bundle_names_the_missing_piece(trained_bundle, tmp_path, missing):
    broken = tmp_path / "bundle"
    shutil.copytree(trained_bundle, broken)
    (broken / missing).unlink()
    with pytest.raises(BundleError, match=f"missing {missing}"):
        Predictor.from_bundle(broken)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("model.onnx", b"\x00garbage not a protobuf", "model.onnx cannot be loaded"),
        ("model.onnx", b"", "empty model.onnx"),
        ("tokenizer.json", b"{broken", "tokenizer.json is corrupt"),
        ("labels.json", b"[1, 2]", "labels.json is corrupt"),
        ("model_card.json", "\u00e9".encode("latin-1"), "model_card.json is corrupt"),
    ],
    ids=["onnx-garbage-bytes", "onnx-empty", "tokenizer-bad-json", "labels-not-object", "card-non-utf8"],
)
def test_corrupt_bundle_raises_a_clear_error(trained_bundle, tmp_path, name, content, message):
    broken = tmp_path / "bundle"
    shutil.copytree(trained_bundle, broken)
    (broken / name).write_bytes(content)
    with pytest.raises(BundleError, match=message):
        Predictor.from_bundle(broken)


def test_onnx_with_the_wrong_signature_is_rejected(trained_bundle, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])],
    )
    broken = tmp_path / "bundle"
    shutil.copytree(trained_bundle, broken)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(broken / "model.onnx"))
    with pytest.raises(BundleError, match="expected token_ids -> probability"):
        Predictor.from_bundle(broken)


def test_missing_folder_is_a_bundle_error(tmp_path):
    with pytest.raises(BundleError, match="does not exist"):
        check_bundle(tmp_path / "nowhere")


def test_copy_is_complete_and_checksum_stable(trained_bundle, tmp_path):
    copied = copy_bundle(trained_bundle, tmp_path / "served")
    assert bundle_checksum(copied) == bundle_checksum(trained_bundle)
    write_card(copied, replace(read_card(copied), model_version="7"))
    assert bundle_checksum(copied) != bundle_checksum(trained_bundle)
    assert Predictor.from_bundle(copied).version == "7"


def test_trimming_padding_columns_changes_no_probability(trained_bundle):
    """The CNN bundle is marked variable-length: ids cut after the longest text give the same output."""
    from ml.bundle import INPUT_NAME, OUTPUT_NAME

    predictor = Predictor.from_bundle(trained_bundle)
    assert predictor.variable_length
    ids = predictor.encode(["steel gear made in 1985 fair", "carbon fiber bracket, 2012, new condition, PN AB-1234", ""])
    trimmed = predictor.trim(ids)
    assert trimmed.shape[1] < ids.shape[1] and trimmed[:, trimmed.shape[1] - 1].any()
    (full,) = predictor.session.run([OUTPUT_NAME], {INPUT_NAME: ids})
    np.testing.assert_allclose(predictor.predict_ids(ids), full, atol=1e-6)
    assert predictor.trim(predictor.encode([""])).shape == (1, 1)


def test_batches_sorted_by_length_give_the_same_probabilities_in_input_order(trained_bundle):
    """More texts than one batch: the predictor groups similar lengths, and answers in the caller's order."""
    from ml.bundle import INPUT_NAME, OUTPUT_NAME
    from ml.data import generate

    predictor = Predictor.from_bundle(trained_bundle)
    texts = [*generate(200, seed=9)["text"], "", "steel", "x " * 300]
    (full,) = predictor.session.run([OUTPUT_NAME], {INPUT_NAME: predictor.encode(texts)})
    np.testing.assert_allclose(predictor.predict_proba(texts, batch_size=16), np.asarray(full).reshape(-1), atol=1e-5)
    # one batch (the API's case): encoded only as wide as its longest text, same probabilities
    np.testing.assert_allclose(predictor.predict_proba(texts), np.asarray(full).reshape(-1), atol=1e-5)
    assert predictor.predict_proba([]).shape == (0,)
