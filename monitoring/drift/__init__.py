"""Drift analysis: a window of the prediction log against the served model's reference sample.

Four signals, each with its own verdict, all computed by one Evidently report (report.py):
  text        Evidently's domain classifier (TF-IDF + linear model, ROC AUC) on the raw text, plus the share
              of descriptions holding words the model's tokenizer never saw (ml.text.unknown_share).
  descriptors length, word count (Evidently descriptors), digit share, unknown-token share.
  attributes  year, material, condition read back from the text by monitoring.extract.
  prediction  the probability distribution and the share predicted non-compliant.

options.py holds the knobs and the size-dependent thresholds, features.py the columns every signal reads,
signals.py the checks and the four signals, analysis.py `analyse`, headline.py the words for operators.
"""

from monitoring.drift.analysis import SIGNALS, DriftAnalysis, analyse, insufficient, with_window
from monitoring.drift.features import build_features
from monitoring.drift.headline import headline
from monitoring.drift.options import DriftOptions, auc_threshold, distance_threshold
from monitoring.extract import OTHER, UNKNOWN

__all__ = [
    "OTHER",
    "SIGNALS",
    "UNKNOWN",
    "DriftAnalysis",
    "DriftOptions",
    "analyse",
    "auc_threshold",
    "build_features",
    "distance_threshold",
    "headline",
    "insufficient",
    "with_window",
]
