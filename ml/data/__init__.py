"""Training data: synthetic technician descriptions, and the loader for user CSVs.

    phrasing    component names, year and condition phrases, sentence shapes (training, held-out, reference)
    years       the training year range, the held-out years, YearSpec and year sampling
    synthetic   generate() and held_out_sets(): labelled rows from the phrasing and ml.domain's rule
    csv_files   load_csv() and DataError: user CSVs, every bad row named
    dataset     data_digest() and split() on any labelled frame

The label rule and the vocabulary live in ml.domain; the rule only generates and checks labels,
models learn it from text. Callers import from here: `from ml.data import generate, load_csv, ...`.
"""

from ml.data.csv_files import MAX_TEXT_CHARS, DataError, load_csv
from ml.data.dataset import data_digest, split
from ml.data.phrasing import COMPONENTS, CONDITION_PHRASES, HOLDOUT_SHAPES, REFERENCE_SHAPES, TRAIN_SHAPES, YEAR_PHRASES
from ml.data.synthetic import SHAPE_SETS, STYLES, generate, held_out_sets
from ml.data.years import HOLDOUT_YEARS, OUT_OF_RANGE_YEARS, TRAIN_YEARS, YearSpec
from ml.domain import CUTOFF_YEAR

__all__ = [
    "COMPONENTS",
    "CONDITION_PHRASES",
    "CUTOFF_YEAR",
    "HOLDOUT_SHAPES",
    "HOLDOUT_YEARS",
    "MAX_TEXT_CHARS",
    "OUT_OF_RANGE_YEARS",
    "REFERENCE_SHAPES",
    "SHAPE_SETS",
    "STYLES",
    "TRAIN_SHAPES",
    "TRAIN_YEARS",
    "YEAR_PHRASES",
    "DataError",
    "YearSpec",
    "data_digest",
    "generate",
    "held_out_sets",
    "load_csv",
    "split",
]
