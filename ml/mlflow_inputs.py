"""A training run's datasets (the data, the GloVe vectors), with their source and schema declared, not guessed.

Given a plain path, MLflow guesses the source type and warns that it "can be interpreted in multiple ways"
(two registered local sources); inferring a table's schema, it warns that integer columns cannot hold
missing values (a hint meant for model signatures; a label column has none). Declaring both says what the
data is, and neither warning is printed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def file_source(path: str | Path):
    """The dataset source of a local file (MLflow's `local` source type)."""
    from mlflow.data.sources import LocalArtifactDatasetSource

    return LocalArtifactDatasetSource(str(Path(path).resolve()))


def code_source(producer: str):
    """The dataset source of data made by code in this project (MLflow's `code` source type)."""
    from mlflow.data.sources import CodeDatasetSource

    return CodeDatasetSource(tags={"mlflow.source.name": producer})


def uri_source(uri: str, *, producer: str):
    """The dataset source of an artifact URI (a local file, a bucket), chosen among MLflow's source types without
    its ambiguity warning; a URI none of them reads (runs:/, mlflow-artifacts:/) is recorded as made by `producer`."""
    from mlflow.data.dataset_source_registry import get_registered_sources, resolve_dataset_source

    distinct = list({source.__name__: source for source in get_registered_sources()}.values())  # local is registered twice
    try:
        return resolve_dataset_source(uri, candidate_sources=distinct)
    except Exception:  # no source type understands the URI
        return code_source(producer)


def _column_type(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "long"
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    return "string"


def table_schema(frame: pd.DataFrame):
    """The frame's columns as an MLflow schema, read from its dtypes."""
    from mlflow.types import ColSpec, Schema

    return Schema([ColSpec(_column_type(frame[name].dtype), str(name)) for name in frame.columns])


def table_dataset(frame: pd.DataFrame, *, source, name: str, targets: str | None = None, digest: str | None = None):
    """mlflow.data.from_pandas with the source given as an object and the schema declared from the dtypes."""
    from mlflow.data.pandas_dataset import PandasDataset

    class DeclaredPandasDataset(PandasDataset):
        @property
        def schema(self):
            return table_schema(self.df)

    return DeclaredPandasDataset(frame, source=source, targets=targets, name=name, digest=digest)


def array_dataset(array: np.ndarray, *, source, name: str):
    import mlflow

    return mlflow.data.from_numpy(array, source=source, name=name)


def log_data_and_vectors(mlflow, data_path: Path, frame: pd.DataFrame, vectors, *, corrections: Path | None = None) -> None:
    """In the active run: the vectors' provenance (a JSON artifact and params), and the training data and the
    vectors as the run's dataset inputs (contexts `training` and `embeddings`), and the reviewers' corrections
    data set mixed into the data, when there is one (context `corrections`, ml.corrections)."""
    provenance = vectors.provenance
    mlflow.log_dict(provenance, "glove/provenance.json")
    mlflow.log_params({f"glove_{k}": v for k, v in provenance.items() if k in ("dim", "coverage", "epochs", "sha256")})
    table = table_dataset(frame[["text", "label"]], source=file_source(data_path), name=data_path.name, targets="label")
    mlflow.log_input(table, context="training")
    if provenance.get("path"):
        name, source = Path(provenance["path"]).name, file_source(provenance["path"])
    else:
        name, source = "glove-trained-on-corpus", code_source("ml.glove.train_glove_on_corpus")
    mlflow.log_input(array_dataset(vectors.matrix, source=source, name=name), context="embeddings")
    if corrections:
        from ml.corrections import log_corrections_input  # it builds its dataset with this module's helpers

        log_corrections_input(mlflow, corrections)
