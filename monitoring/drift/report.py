"""The one Evidently report behind every signal, and Evidently's explanation of a text drift."""

from __future__ import annotations

import pandas as pd

NUMERICAL = ["year", "digit_share", "unknown_share", "probability"]
CATEGORICAL = ["material", "condition", "predicted"]
DESCRIPTORS = ["length", "word_count"]  # computed by Evidently from the text


def evidently_report(ref: pd.DataFrame, cur: pd.DataFrame, checks: list[tuple[str, str, float]]):
    """Run one Evidently report over both frames; returns (snapshot, {column: drift score}, descriptor frames)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.descriptors import TextLength, WordCount
    from evidently.metrics import MeanValue, ValueDrift

    definition = DataDefinition(text_columns=["text"], numerical_columns=NUMERICAL, categorical_columns=CATEGORICAL)

    def dataset(df: pd.DataFrame):
        descriptors = [TextLength("text", alias="length"), WordCount("text", alias="word_count")]
        return Dataset.from_pandas(df[["text", *NUMERICAL, *CATEGORICAL]], data_definition=definition, descriptors=descriptors)

    ref_ds, cur_ds = dataset(ref), dataset(cur)
    metrics = [ValueDrift(column=column, method=method, threshold=threshold) for column, method, threshold in checks]
    metrics.append(MeanValue(column="unknown_share"))
    snapshot = Report(metrics).run(cur_ds, ref_ds)
    scores: dict[str, float] = {}
    for item in snapshot.dict()["metrics"]:
        config = item.get("config", {})
        if str(config.get("type", "")).endswith("ValueDrift"):
            scores[config["column"]] = float(item["value"])
    ref_desc = ref_ds.as_dataframe()[DESCRIPTORS].reset_index(drop=True)
    cur_desc = cur_ds.as_dataframe()[DESCRIPTORS].reset_index(drop=True)
    return snapshot, scores, ref_desc, cur_desc


def separating_words(ref_text: pd.Series, cur_text: pd.Series, seed: int, limit: int = 10_000) -> dict:
    """Evidently's own domain-classifier explanation: words and examples typical of each side."""
    from evidently.legacy.utils.data_drift_utils import get_text_data_for_plots

    ref_text = ref_text.sample(n=min(limit, len(ref_text)), random_state=seed)
    cur_text = cur_text.sample(n=min(limit, len(cur_text)), random_state=seed)
    examples_cur, _examples_ref, words_cur, words_ref = get_text_data_for_plots(ref_text, cur_text)
    return {"current": list(words_cur)[:10], "reference": list(words_ref)[:10], "examples_current": list(examples_cur)[:3]}
