"""Why a text got its label: the words whose occlusion moves the model's probability most.

Each word of a text (a run of letters, or a number: every token it becomes) is occluded in turn, replaced by the
unknown-word token, and all the occluded variants of a batch go through the model in one ONNX Runtime call beside
the unchanged texts. A word's weight is how much the predicted label's log-odds fall without it (the ranking of the
fall in its probability, read where float32 probabilities have not rounded to 0 or 1): positive words support the
decision, and the top few (at most TOP_WORDS, each at least SHARE_OF_TOP of the strongest) are the evidence.
numpy only (the Predictor runs the model and gives the logits).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ml.text import UNK, TokenizerSpec

TOP_WORDS = 3
MIN_WEIGHT = 1e-3  # a word whose occlusion moves the log-odds less than this decided nothing
SHARE_OF_TOP = 0.25  # and a word under this share of the strongest word's weight is context, not evidence ("in")
# Occluded variants per ONNX Runtime call: its arena keeps the peak, so 4,096 rows grew a worker by 200 MB and 256 rows
# by 40 MB over batches of 100 texts; 64 rows (a few texts) add 15 MB at the same speed (measured side by side).
MAX_ROWS_PER_CALL = 64
# The words of a text as written (the tokenizer reads the same runs after NFKC and case folding).
_WORD_RE = re.compile(r"[^\W\d_]+|\d+")


@dataclass(frozen=True)
class Evidence:
    """One decisive word: as written, its character offsets in the text, and its weight (the fall in the predicted
    label's log-odds when the word is occluded)."""

    word: str
    start: int
    end: int
    weight: float

    def to_dict(self) -> dict:
        return {"word": self.word, "start": self.start, "end": self.end, "weight": round(self.weight, 6)}


@dataclass(frozen=True)
class _Words:
    spans: list[tuple[int, int]]  # per occludable word
    token_slices: list[tuple[int, int]]  # its tokens' positions in `ids`
    ids: list[int]


def _words(text: str, spec: TokenizerSpec) -> _Words:
    spans, slices, ids = [], [], []
    for match in _WORD_RE.finditer(text):
        word_ids = spec.word_ids(match.group())
        room = spec.max_length - len(ids)
        if not word_ids or room <= 0:
            continue
        word_ids = word_ids[:room]
        spans.append(match.span())
        slices.append((len(ids), len(ids) + len(word_ids)))
        ids.extend(word_ids)
    return _Words(spans, slices, ids)


def occlusion_batch(texts: Sequence[str], spec: TokenizerSpec, *, to_longest: bool) -> tuple[np.ndarray, list[_Words], list[int]]:
    """Ids [rows, width]: per text its unchanged ids, then one row per word with that word's tokens set to <unk>.
    Returns the ids, each text's words and the row where each text's block starts."""
    unk = spec.index[UNK]
    words = [_words(text, spec) for text in texts]
    rows = sum(1 + len(w.spans) for w in words)
    width = max(1, max((len(w.ids) for w in words), default=0)) if to_longest else spec.max_length
    ids = np.zeros((rows, width), dtype=np.int64)
    starts, row = [], 0
    for w in words:
        starts.append(row)
        ids[row : row + 1 + len(w.spans), : len(w.ids)] = w.ids
        for k, (a, b) in enumerate(w.token_slices):
            ids[row + 1 + k, a:b] = unk
        row += 1 + len(w.spans)
    return ids, words, starts


def explain_texts(
    texts: Sequence[str],
    spec: TokenizerSpec,
    run: Callable[[np.ndarray], np.ndarray],
    *,
    threshold: float,
    to_longest: bool,
    top: int = TOP_WORDS,
) -> list[list[Evidence]]:
    """The evidence of each text, strongest first; `run` maps ids to logits (one call per chunk of texts); the label
    is 1 where the logit reaches the threshold's."""
    return explain_scored(texts, spec, run, threshold=threshold, to_longest=to_longest, top=top)[0]


def explain_scored(
    texts: Sequence[str],
    spec: TokenizerSpec,
    run: Callable[[np.ndarray], np.ndarray],
    *,
    threshold: float,
    to_longest: bool,
    top: int = TOP_WORDS,
) -> tuple[list[list[Evidence]], np.ndarray]:
    """explain_texts, and what `run` gave on each text's unchanged row: `run` may map ids to [rows, k] outputs, the
    logit first (the Predictor adds the probability: a text's label and its evidence from one model call)."""
    out: list[list[Evidence]] = []
    bases: list[np.ndarray] = []
    chunk: list[str] = []
    budget = 0
    for text in [*texts, None]:
        cost = 1 + len(_WORD_RE.findall(text)) if text is not None else 0
        if chunk and (text is None or budget + cost > MAX_ROWS_PER_CALL):
            evidence, base = _explain_chunk(chunk, spec, run, threshold=threshold, to_longest=to_longest, top=top)
            out.extend(evidence)
            bases.append(base)
            chunk, budget = [], 0
        if text is not None:
            chunk.append(text)
            budget += cost
    return out, np.concatenate(bases) if bases else np.zeros((0,))


def _explain_chunk(texts, spec, run, *, threshold: float, to_longest: bool, top: int) -> tuple[list[list[Evidence]], np.ndarray]:
    ids, words, starts = occlusion_batch(texts, spec, to_longest=to_longest)
    outputs = np.asarray(run(ids), dtype=np.float64)
    logits = outputs if outputs.ndim == 1 else outputs[:, 0]
    cut = float(np.log(threshold) - np.log1p(-threshold))
    out = []
    for text, w, start in zip(texts, words, starts, strict=True):
        base = logits[start]
        occluded = logits[start + 1 : start + 1 + len(w.spans)]
        weights = base - occluded if base >= cut else occluded - base
        order = np.argsort(-weights, kind="stable")[:top]
        floor = max(MIN_WEIGHT, SHARE_OF_TOP * float(weights[order[0]])) if len(order) else MIN_WEIGHT
        out.append([Evidence(text[w.spans[k][0] : w.spans[k][1]], *w.spans[k], float(weights[k])) for k in order if weights[k] >= floor])
    return out, outputs[starts]
