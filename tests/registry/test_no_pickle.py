"""The gate never unpickles what the registry holds (issue 11): a version whose PyTorch flavor and state-dict file are
pickles that run code is gated without running it; honest weights still give the parity check its number."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from ml import registry
from ml.models import load_weights, save_weights
from ml.registry.gate import run_gate
from tests.registry import helpers
from tests.registry.scenarios import gate_config


def _payload(marker: Path) -> tuple:
    return (exec, (f"open({str(marker)!r}, 'w').write('code ran')",))


class PlantedModule(torch.nn.Module):
    """What an attacker with write access logs as the PyTorch flavor: unpickling it writes the marker file."""

    def __init__(self, marker: Path):
        super().__init__()
        self.marker = marker

    def __reduce_ex__(self, protocol):
        return _payload(self.marker)

    def forward(self, token_ids):
        return token_ids.float().mean(dim=1)


class PlantedState:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return _payload(self.marker)


def test_a_planted_pickle_in_a_registered_version_does_not_run(registry_server, tiny_models, model_name, tmp_path):
    marker = tmp_path / "marker"
    weights = tmp_path / "state_dict.pt"
    torch.save({"embedding.weight": PlantedState(marker)}, weights)  # a "state dict" whose value runs code
    run_id = helpers.log_training_run(registry_server.uri, tiny_models.good, flavor=PlantedModule(marker), weights=weights)
    assert not marker.exists(), "logging the planted model must not have run it already"
    registry.register_run(run_id, model_name=model_name, tracking_uri=registry_server.uri)

    result = run_gate(model_name=model_name, tracking_uri=registry_server.uri, config=gate_config())

    assert not marker.exists(), "the gate ran code from a pickle in the registry"
    assert not result.passed and "parity_max_abs_diff" in {c.name for c in result.failed_checks}
    assert registry.resolve_alias(registry.CHAMPION, model_name=model_name, tracking_uri=registry_server.uri) is None
    # The payload is live: the unsafe loaders the gate avoids would have run it.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(weights, weights_only=True)
    torch.load(weights, weights_only=False)
    assert marker.read_text() == "code ran"


def test_honest_weights_give_the_parity_check_its_number(registry_server, model_name):
    ref = registry.register_run(registry_server.runs["good"], model_name=model_name, tracking_uri=registry_server.uri)
    result = run_gate(model_name=model_name, tracking_uri=registry_server.uri, config=gate_config(), promote=False)
    parity = next(c for c in result.checks if c.name == "parity_max_abs_diff")
    assert parity.passed and parity.challenger is not None and parity.challenger < 1e-4, parity
    assert ref.version == result.challenger.version


@pytest.mark.parametrize("model_type", ["cnn", "baseline"])
def test_weights_round_trip_into_the_class_from_code(model_type, tmp_path):
    from ml import models
    from ml.text import build_spec

    spec = build_spec(["steel gear made in 1985 good condition", "iron bolt 2001 fair"], max_length=16)
    torch.manual_seed(0)
    model = models.build_model(model_type, embeddings=torch.randn(spec.vocab_size, 8), spec=spec).eval()
    save_weights(model, tmp_path / "w.pt")
    loaded = load_weights(model_type, tmp_path / "w.pt")
    ids = torch.randint(1, spec.vocab_size, (4, 16))
    with torch.no_grad():
        assert torch.allclose(model(ids), loaded(ids))
    with pytest.raises((RuntimeError, KeyError)):  # strict: weights of another architecture do not load silently
        load_weights("cnn" if model_type == "baseline" else "baseline", tmp_path / "w.pt")
