"""Raw text in, labels out: the inference wrapper every caller shares (portal, CLI, pipeline, benches).

Needs numpy and onnxruntime only; importing it never imports torch or mlflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.bundle import INPUT_NAME, LOGIT_NAME, OUTPUT_NAME, BundleError, ModelCard, check_bundle, read_card_file, read_json, read_tokenizer
from ml.evidence import TOP_WORDS, Evidence, explain_scored, explain_texts
from ml.text import TokenizerSpec, encode_batch


def cut_padding(token_ids: np.ndarray) -> np.ndarray:
    """The ids without the all-padding columns after the longest text (at least one column)."""
    if token_ids.size == 0:
        return token_ids
    used = np.flatnonzero(token_ids.any(axis=0))
    return token_ids[:, : int(used[-1]) + 1 if len(used) else 1]


@dataclass(frozen=True)
class Prediction:
    probability: float
    label: int
    label_name: str
    evidence: tuple[Evidence, ...] = ()  # the decisive words (predict(..., evidence=True)), strongest first


class Predictor:
    def __init__(self, *, session, spec: TokenizerSpec, labels: dict, card: ModelCard, path: Path | None = None):
        self.session = session
        self.spec = spec
        self.threshold = float(labels.get("threshold", 0.5))
        self.label_names = {int(k): str(v) for k, v in labels["names"].items()}
        self.card = card
        self.path = path
        # Models without a fixed input length (masked pooling) give the same result on ids cut after the
        # longest text of a batch, and run much faster on them.
        self.variable_length = card.variable_length
        # Bundles exported since calibration also give the calibrated logit; older ones: read off the probability.
        self.has_logit = hasattr(session, "get_outputs") and LOGIT_NAME in [o.name for o in session.get_outputs()]

    @classmethod
    def from_bundle(cls, path: str | Path, *, threads: int = 1) -> Predictor:
        import onnxruntime as ort

        paths = check_bundle(path)
        spec = read_tokenizer(paths)
        labels = read_json(paths.labels)
        if "names" not in labels:
            raise BundleError(f"model bundle {paths.root}: labels.json has no 'names'")
        card = read_card_file(paths.card)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting between calls
        try:
            session = ort.InferenceSession(str(paths.model), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise BundleError(f"model bundle {paths.root}: model.onnx cannot be loaded: {exc}") from exc
        inputs = [i.name for i in session.get_inputs()]
        outputs = [o.name for o in session.get_outputs()]
        if inputs != [INPUT_NAME] or OUTPUT_NAME not in outputs:
            raise BundleError(
                f"model bundle {paths.root}: model.onnx has inputs {inputs} / outputs {outputs}, expected {INPUT_NAME} -> {OUTPUT_NAME}"
            )
        return cls(session=session, spec=spec, labels=labels, card=card, path=paths.root)

    @property
    def model_name(self) -> str:
        return self.card.model_name

    @property
    def version(self) -> str:
        """What the portal shows: the registry version when known, else the training run id."""
        return self.card.version

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return encode_batch(texts, self.spec)

    def trim(self, token_ids: np.ndarray) -> np.ndarray:
        """Drop the all-padding columns after the longest text, when the model allows it."""
        return cut_padding(token_ids) if self.variable_length else token_ids

    def predict_ids(self, token_ids: np.ndarray) -> np.ndarray:
        (probs,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: self.trim(token_ids)})
        return np.asarray(probs, dtype=np.float32).reshape(-1)

    def logits_ids(self, token_ids: np.ndarray) -> np.ndarray:
        """The calibrated log-odds of each row (float64): the model's logit output, or the probability's log-odds."""
        if self.has_logit:
            (logits,) = self.session.run([LOGIT_NAME], {INPUT_NAME: self.trim(token_ids)})
            return np.asarray(logits, dtype=np.float64).reshape(-1)
        probs = np.clip(self.predict_ids(token_ids).astype(np.float64), 1e-7, 1 - 1e-7)
        return np.log(probs) - np.log1p(-probs)

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 1024) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("predict_proba takes a sequence of texts, not one string")
        if self.variable_length and 0 < len(texts) <= batch_size:  # one batch, encoded as wide as its longest text
            (probs,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: encode_batch(texts, self.spec, to_longest=True)})
            return np.asarray(probs, dtype=np.float32).reshape(-1)
        ids = self.encode(list(texts))
        out = np.empty(len(ids), dtype=np.float32)
        # Variable-length models: batches of similar lengths, so each is cut close to its own texts.
        order = np.argsort((ids != 0).sum(axis=1), kind="stable") if self.variable_length and len(ids) > batch_size else None
        for start in range(0, len(ids), batch_size):
            rows = slice(start, start + batch_size) if order is None else order[start : start + batch_size]
            out[rows] = self.predict_ids(np.ascontiguousarray(ids[rows]))
        return out

    def explain(self, texts: Sequence[str], *, top: int = TOP_WORDS) -> list[list[Evidence]]:
        """Each text's decisive words by occlusion (ml.evidence): one ONNX Runtime call per batch of texts."""
        if isinstance(texts, str):
            raise TypeError("explain takes a sequence of texts, not one string")
        return explain_texts(texts, self.spec, self.logits_ids, threshold=self.threshold, to_longest=self.variable_length, top=top)

    def predict_explained(self, texts: Sequence[str], *, top: int = TOP_WORDS) -> tuple[np.ndarray, list[list[Evidence]]]:
        """predict_proba and explain from the same model calls: each text's unchanged row sits in its occlusion batch,
        and its probability is read there (the same ids, so the same number as predict_proba's)."""
        if isinstance(texts, str):
            raise TypeError("predict_explained takes a sequence of texts, not one string")

        def run(token_ids: np.ndarray) -> np.ndarray:
            if self.has_logit:
                probs, logits = self.session.run([OUTPUT_NAME, LOGIT_NAME], {INPUT_NAME: token_ids})  # already as wide as needed
                logits = np.asarray(logits, dtype=np.float64).reshape(-1)
            else:
                probs = self.predict_ids(token_ids)
                clipped = np.clip(probs.astype(np.float64), 1e-7, 1 - 1e-7)
                logits = np.log(clipped) - np.log1p(-clipped)
            return np.stack([logits, np.asarray(probs, dtype=np.float64).reshape(-1)], axis=1)

        why, bases = explain_scored(texts, self.spec, run, threshold=self.threshold, to_longest=self.variable_length, top=top)
        probs = bases[:, 1].astype(np.float32) if len(bases) else np.zeros(0, dtype=np.float32)  # float32 -> 64 -> 32: exact
        return probs, why

    def predict(self, texts: Sequence[str], *, evidence: bool = False) -> list[Prediction]:
        probs, why = self.predict_explained(texts) if evidence else (self.predict_proba(texts), [()] * len(texts))
        labels = (probs >= self.threshold).astype(int)
        return [Prediction(float(p), int(y), self.label_names[int(y)], tuple(e)) for p, y, e in zip(probs, labels, why, strict=True)]
