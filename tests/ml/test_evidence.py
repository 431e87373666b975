"""The evidence (ml.evidence through Predictor.explain): the words that decided a label, by occlusion over the bundle's
ONNX model, in one ONNX Runtime call per batch of texts; bundles without the logit output still explain."""

from __future__ import annotations

import numpy as np
import pytest

from ml.domain import REFERENCE_EXAMPLES
from ml.evidence import TOP_WORDS, occlusion_batch
from ml.predictor import Predictor


class CountingSession:
    """The real ONNX Runtime session, counting its runs."""

    def __init__(self, session):
        self.session, self.calls = session, 0

    def run(self, *args, **kwargs):
        self.calls += 1
        return self.session.run(*args, **kwargs)

    def get_outputs(self):
        return self.session.get_outputs()


@pytest.fixture(scope="module")
def predictor(trained_bundle) -> Predictor:
    return Predictor.from_bundle(trained_bundle)


def _words(evidence) -> list[str]:
    return [e.word.lower() for e in evidence]


def test_evidence_names_the_decisive_words_of_the_reference_examples(predictor):
    texts = [text for text, _ in REFERENCE_EXAMPLES]
    predictions = predictor.predict(texts, evidence=True)
    assert [p.label for p in predictions] == [label for _, label in REFERENCE_EXAMPLES]
    made_1985, made_2010, made_1995 = (_words(p.evidence) for p in predictions)
    assert {"1985", "fair"} <= set(made_1985), made_1985  # either alone makes it non-compliant
    assert "2010" in made_2010, made_2010  # a year after the cut-off is what keeps it compliant
    assert "fair" in made_1995 and "1995" not in made_1995, made_1995  # 1995 is not before the cut-off: fair decides
    for text, p in zip(texts, predictions, strict=True):
        assert 1 <= len(p.evidence) <= TOP_WORDS
        assert [e.weight for e in p.evidence] == sorted((e.weight for e in p.evidence), reverse=True)
        assert all(e.weight > 0 and text[e.start : e.end] == e.word for e in p.evidence)


def test_the_evidence_of_a_batch_takes_one_onnx_runtime_call(predictor):
    counting = CountingSession(predictor.session)
    texts = ["Iron pipe made in 2005, good condition", "Plastic cover 2011 new", "Steel beam built 1982 in good condition"]
    original, predictor.session = predictor.session, counting
    try:
        batch = predictor.explain(texts)
        assert counting.calls == 1
        one = predictor.explain(texts[:1])
        assert counting.calls == 2
    finally:
        predictor.session = original
    assert _words(batch[0])[0] == "iron" and _words(batch[1])[0] == "plastic" and _words(batch[2])[0] == "1982"
    assert [e.to_dict() for e in one[0]] == [e.to_dict() for e in batch[0]]


def test_labels_and_evidence_come_from_one_call_and_equal_the_separate_ones(predictor):
    texts = ["Iron pipe made in 2005, good condition", "x", "Steel beam built 1982 in good condition " * 30, "!!!"]
    texts += [f"Aluminium bracket {year}, condition good" for year in range(1980, 2030)]  # tried: more rows than one call
    counting = CountingSession(predictor.session)
    original, predictor.session = predictor.session, counting
    try:
        probs, why = predictor.predict_explained(texts)
        calls = counting.calls
    finally:
        predictor.session = original
    counting = CountingSession(predictor.session)
    predictor.session = counting
    try:
        predictor.explain(texts)
    finally:
        predictor.session = original
    assert calls == counting.calls >= 2  # the occlusion batches alone: classifying added no call
    np.testing.assert_array_equal(probs, predictor.predict_proba(texts))  # the same numbers, bit for bit
    assert [[e.to_dict() for e in words] for words in why] == [[e.to_dict() for e in words] for words in predictor.explain(texts)]
    counting = CountingSession(predictor.session)
    predictor.session = counting
    try:
        predictor.predict_explained(texts[:1])
    finally:
        predictor.session = original
    assert counting.calls == 1  # one text: its label and its evidence from one ONNX Runtime call


def test_a_bundle_without_the_logit_output_explains_from_the_probability(predictor):
    """Bundles exported before the logit output existed: the log-odds are read off the probability."""
    assert predictor.has_logit
    text = ["Cast iron valve made in 2008 in good condition"]
    with_logit = _words(predictor.explain(text)[0])
    predictor.has_logit = False
    try:
        without = _words(predictor.explain(text)[0])
    finally:
        predictor.has_logit = True
    assert with_logit[0] == without[0] and with_logit[0] in ("cast", "iron")


def test_the_logit_output_is_the_probability_s_log_odds(predictor):
    ids = predictor.encode([text for text, _ in REFERENCE_EXAMPLES] + ["Plastic cover made 2010"])
    probs, logits = predictor.session.run(["probability", "logit"], {"token_ids": predictor.trim(ids)})
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-logits)), atol=1e-6)


def test_occlusion_rows_set_one_word_to_unknown_each(predictor):
    ids, words, starts = occlusion_batch(["steel 1985", ""], predictor.spec, to_longest=True)
    assert starts == [0, 3] and ids.shape == (4, 5)  # steel + 4 digit tokens; the empty text: its one row
    assert (ids[1, :1] == 1).all() and (ids[1, 1:] == ids[0, 1:]).all()  # <unk> is id 1
    assert (ids[2, 1:] == 1).all() and ids[2, 0] == ids[0, 0]
    assert words[1].spans == [] and (ids[3] == 0).all()


def test_explain_bad_input(predictor):
    with pytest.raises(TypeError, match="sequence of texts"):
        predictor.explain("steel 1985")  # one string, not a list
    assert predictor.explain([]) == []
    assert predictor.explain(["", "!!! ---"]) == [[], []]  # no words: nothing to name
    assert predictor.predict(["steel"])[0].evidence == ()  # evidence only when asked
