"""What every drift signal reads, computed once per side from the raw text and the probability."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from ml.text import TokenizerSpec, split_tokens
from monitoring.extract import extract_frame, is_attribute_word

NON_COMPLIANT, COMPLIANT = "non-compliant", "compliant"


def _tokens_frame(texts: pd.Series, spec: TokenizerSpec) -> tuple[np.ndarray, list[list[str]]]:
    shares = np.zeros(len(texts))
    unseen: list[list[str]] = []
    for i, text in enumerate(texts):
        tokens = split_tokens(text, unicode_form=spec.unicode_form, lowercase=spec.lowercase)
        missing = [t for t in tokens if not spec.knows(t)]
        shares[i] = len(missing) / len(tokens) if tokens else 0.0
        unseen.append(missing)
    return shares, unseen


def build_features(
    texts: pd.Series, probability: pd.Series, *, spec: TokenizerSpec, threshold: float
) -> tuple[pd.DataFrame, list[list[str]]]:
    """Raw text + probability -> the columns every signal reads (descriptors computed by Evidently are added later)."""
    texts = texts.fillna("").astype(str).reset_index(drop=True)
    unknown, unseen = _tokens_frame(texts, spec)
    frame = extract_frame(texts)
    frame.insert(0, "text", texts)
    frame["digit_share"] = texts.str.count(r"\d") / texts.str.len().clip(lower=1)
    frame["unknown_share"] = unknown
    frame["probability"] = pd.to_numeric(probability, errors="coerce").astype(float).reset_index(drop=True)
    frame["predicted"] = np.where(frame["probability"] >= threshold, NON_COMPLIANT, COMPLIANT)
    return frame, unseen


def top_unseen(unseen: list[list[str]], n: int = 5) -> list[tuple[str, int]]:
    """Unseen words by the number of descriptions holding them: material/condition words (what the regulation
    is about) first, English stop words ("the", "is") last."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    counts: Counter[str] = Counter()
    for words in unseen:
        counts.update(set(words))
    ranked = sorted(counts.items(), key=lambda kv: (kv[0] in ENGLISH_STOP_WORDS, not is_attribute_word(kv[0]), -kv[1], kv[0]))
    return ranked[:n]
