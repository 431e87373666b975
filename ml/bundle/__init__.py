"""The inference bundle: a folder any serving process can load with numpy and onnxruntime alone.

Layout (docs/contracts.md, "Inference bundle"; `layout` holds the names, `read` and `write` the files):
    model.onnx        single-file ONNX model: token_ids int64 [batch, seq] -> probability float32 [batch]
                      (and, since calibration, logit float32 [batch]: the calibrated log-odds; optional)
    tokenizer.json    the TokenizerSpec used in training
    labels.json       label ids -> names, and the decision threshold
    model_card.json   the ModelCard below
    reference.csv     a sample of training inputs (text, label, probability) for drift checks
    segments.npz      optional: the document segment score (ml.documents.scorer); in the checksum when present

Model card fields (`ModelCard` in `card`; contract version 1; a test holds this list to the class):
    contract_version   int: the card contract's version; a card without it is version 1, a newer one is refused at load
    model_name         str: the registered model's name (default component-compliance)
    model_version      str or null: the registry version, written when a registered version is downloaded
    run_id             str: the MLflow training run
    experiment_id      str: that run's MLflow experiment
    model_type         str: cnn or baseline
    variable_length    bool: probabilities are unchanged on ids cut after a batch's longest text (the CNN's masked
                       pooling), so serving cuts padding; false or absent: the portal checks this at load
    temperature        float: the calibration temperature folded into model.onnx (informational; absent: 1.0)
    metrics            object: the run's final metrics (test_accuracy, holdout slices, onnx_parity_max_abs_diff, ...)
    data_digest        str: sha256 over the training data's text and label
    data_rows          int: rows in the training data
    git_commit         str: the commit the model was trained from
    created_at         str: ISO 8601 UTC time the bundle was written
    device             str: the device it was trained on (cpu, cuda:0)
    tokenizer_version  int: the TokenizerSpec version
    glove              object: where the embeddings came from (file path or trained, dim, coverage, sha256)
    params             object: epochs, seed, batch_size, lr
"""

from ml.bundle.card import CARD_VERSION, ModelCard, card_fields
from ml.bundle.layout import (
    BUNDLE_FILES,
    CARD_FILE,
    DEFAULT_LABELS,
    INPUT_NAME,
    LABELS_FILE,
    LOGIT_NAME,
    MODEL_FILE,
    OPTIONAL_FILES,
    OUTPUT_NAME,
    REFERENCE_FILE,
    SEGMENTS_FILE,
    TOKENIZER_FILE,
    BundleError,
    BundlePaths,
    bundle_checksum,
    check_bundle,
    file_sha256,
)
from ml.bundle.read import read_card, read_card_file, read_json, read_tokenizer
from ml.bundle.write import copy_bundle, write_bundle, write_card

__all__ = [
    "BUNDLE_FILES",
    "CARD_FILE",
    "CARD_VERSION",
    "DEFAULT_LABELS",
    "INPUT_NAME",
    "LABELS_FILE",
    "LOGIT_NAME",
    "MODEL_FILE",
    "OPTIONAL_FILES",
    "OUTPUT_NAME",
    "REFERENCE_FILE",
    "SEGMENTS_FILE",
    "TOKENIZER_FILE",
    "BundleError",
    "BundlePaths",
    "ModelCard",
    "bundle_checksum",
    "card_fields",
    "check_bundle",
    "copy_bundle",
    "file_sha256",
    "read_card",
    "read_card_file",
    "read_json",
    "read_tokenizer",
    "write_bundle",
    "write_card",
]
