"""The documented command lines, run as a user would run them."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from common.paths import PROJECT_ROOT


def ml(*args: str, cwd=PROJECT_ROOT):
    return subprocess.run([sys.executable, "-m", "ml", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_generate_writes_the_requested_rows(tmp_path):
    out = tmp_path / "data" / "components.csv"
    result = ml("generate", "--rows", "500", "--seed", "7", "--out", str(out))
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out)
    assert len(frame) == 500 and {"text", "label"} <= set(frame.columns)
    reference = tmp_path / "ref.csv"
    assert ml("generate", "--rows", "50", "--style", "reference", "--out", str(reference)).returncode == 0
    assert pd.read_csv(reference)["shape"].str.startswith("reference").all()


def test_predict_keeps_input_columns_and_adds_probability_and_label(trained_bundle, tmp_path):
    source = tmp_path / "in.csv"
    pd.DataFrame({"id": [1, 2], "text": ["Steel gear made in 1980, good condition", "Carbon fiber bracket, 2015, new condition"]}).to_csv(
        source, index=False
    )
    out = tmp_path / "out.csv"
    result = ml("predict", "--bundle", str(trained_bundle), "--input", str(source), "--output", str(out))
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["id", "text", "probability", "label"]
    assert frame["label"].tolist() == [1, 0]


def test_evaluate_prints_metrics_confusion_matrix_and_slices(trained_bundle, tmp_path):
    data = tmp_path / "test.csv"
    assert ml("generate", "--rows", "400", "--seed", "11", "--out", str(data)).returncode == 0
    result = ml("evaluate", "--bundle", str(trained_bundle), "--data", str(data), "--json", str(tmp_path / "m.json"))
    assert result.returncode == 0, result.stderr
    for word in ("accuracy", "precision", "recall", "f1", "roc_auc", "confusion matrix", "accuracy by material", "accuracy by condition"):
        assert word in result.stdout
    assert (tmp_path / "m.json").exists()


def test_bad_input_files_exit_2_with_a_readable_message(trained_bundle, tmp_path):
    """Inputs tried: non-UTF-8 CSV to predict, a missing bundle folder, a CSV without labels to train."""
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"text\ncaf\xe9 gear\n")
    result = ml("predict", "--bundle", str(trained_bundle), "--input", str(latin), "--output", str(tmp_path / "o.csv"))
    assert result.returncode == 2 and "not UTF-8" in result.stderr and "Traceback" not in result.stderr
    result = ml("evaluate", "--bundle", str(tmp_path / "missing"), "--data", str(latin))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    unlabelled = tmp_path / "unlabelled.csv"
    unlabelled.write_text("text\nsteel gear\n")
    result = ml("train", "--data", str(unlabelled), "--out", str(tmp_path / "b"), "--tracking-uri", f"sqlite:///{tmp_path}/m.db")
    assert result.returncode == 2 and "missing column(s) label" in result.stderr
