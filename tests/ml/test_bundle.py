"""The model card contract: a typed ModelCard, versioned, and documented field for field."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import field, make_dataclass

import pytest

import ml.bundle
from common.paths import PROJECT_ROOT
from ml.bundle import CARD_VERSION, BundleError, ModelCard, card_fields, read_card
from ml.predictor import Predictor
from monitoring.reference import load_reference


def contracts_card_fields(text: str) -> list[str]:
    """The field names in the model card table of docs/contracts.md."""
    section = text.split("### Model card", 1)[1]
    section = re.split(r"\n#{2,3} ", section, maxsplit=1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


def docstring_card_fields(text: str) -> list[str]:
    """The field names listed under "Model card fields" in the ml.bundle docstring."""
    section = text.split("Model card fields", 1)[1]
    return re.findall(r"^    (\w+) {2,}\S", section, flags=re.MULTILINE)


def undocumented(card_class, documented: list[str]) -> set[str]:
    return {f for f in card_class.__dataclass_fields__} - set(documented)


def _card_dict(bundle) -> dict:
    return json.loads((bundle / "model_card.json").read_text(encoding="utf-8"))


def _bundle_with_card(trained_bundle, tmp_path, card: dict):
    folder = tmp_path / "bundle"
    shutil.copytree(trained_bundle, folder)
    (folder / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    return folder


def test_contracts_doc_and_docstring_name_exactly_the_card_fields():
    in_doc = contracts_card_fields((PROJECT_ROOT / "docs" / "contracts.md").read_text(encoding="utf-8"))
    in_docstring = docstring_card_fields(ml.bundle.__doc__)
    assert in_doc == list(card_fields()), "docs/contracts.md's model card table and ModelCard differ"
    assert in_docstring == list(card_fields()), "the ml.bundle docstring's card fields and ModelCard differ"
    assert "variable_length" in in_doc


def test_a_field_added_without_the_doc_is_caught():
    """A ModelCard with one more field (`supplier`) than docs/contracts.md names fails the check above."""
    documented = contracts_card_fields((PROJECT_ROOT / "docs" / "contracts.md").read_text(encoding="utf-8"))
    wider = make_dataclass("WiderCard", [("supplier", str, field(default=""))], bases=(ModelCard,), frozen=True)
    assert undocumented(wider, documented) == {"supplier"}
    assert undocumented(ModelCard, documented) == set()


def test_training_writes_every_field_at_the_current_version(trained_bundle, trained_run):
    raw = _card_dict(trained_bundle)
    assert list(raw) == list(card_fields()) and raw["contract_version"] == CARD_VERSION == 1
    card = read_card(trained_bundle)
    assert card == ModelCard.from_json(card.to_json()) == ModelCard.from_dict(raw)
    assert card.variable_length is True and card.version == trained_run.run_id
    assert Predictor.from_bundle(trained_bundle).card == card


def test_a_card_without_a_contract_version_reads_as_version_1(trained_bundle, tmp_path):
    """A bundle written before the field existed: the same keys, no contract_version."""
    old = {k: v for k, v in _card_dict(trained_bundle).items() if k != "contract_version"}
    folder = _bundle_with_card(trained_bundle, tmp_path, old)
    predictor = Predictor.from_bundle(folder)
    assert predictor.card.contract_version == 1 and predictor.variable_length
    assert predictor.card.to_dict() == {**old, "contract_version": 1}


def test_an_empty_card_takes_the_defaults():
    card = ModelCard.from_json("{}")
    assert card.model_name == "component-compliance" and card.version == "unversioned" and not card.variable_length
    assert ModelCard.from_dict({"run_id": "r1", "model_version": 7}).version == "7"


def test_a_future_contract_version_is_refused_at_load_and_the_bundle_is_left_alone(trained_bundle, tmp_path):
    future = {**_card_dict(trained_bundle), "contract_version": CARD_VERSION + 1, "new_field": "x"}
    folder = _bundle_with_card(trained_bundle, tmp_path, future)
    before = (folder / "model_card.json").read_bytes()
    message = f"model_card.json: model card contract version {CARD_VERSION + 1} is newer than this code reads"
    with pytest.raises(BundleError, match=message):
        Predictor.from_bundle(folder)
    with pytest.raises(BundleError, match=message):
        load_reference(folder)
    with pytest.raises(BundleError, match=message):
        read_card(folder)
    assert (folder / "model_card.json").read_bytes() == before


@pytest.mark.parametrize(
    "change, message",
    [
        ({"contract_version": "1"}, "contract_version must be a positive integer"),
        ({"contract_version": 0}, "contract_version must be a positive integer"),
        ({"metrics": "high"}, "field 'metrics' must be an object"),
        ({"metrics": {"test_accuracy": "0.99"}}, "field 'metrics.test_accuracy' must be a number"),
        ({"variable_length": "yes"}, "field 'variable_length' must be true or false"),
        ({"data_rows": 1.5}, "field 'data_rows' must be an integer"),
        ({"run_id": ["a"]}, "field 'run_id' must be a string"),
    ],
    ids=["version-string", "version-zero", "metrics-string", "metric-string", "flag-string", "rows-float", "run-id-list"],
)
def test_a_card_field_of_the_wrong_type_is_a_clear_error(trained_bundle, tmp_path, change, message):
    folder = _bundle_with_card(trained_bundle, tmp_path, {**_card_dict(trained_bundle), **change})
    with pytest.raises(BundleError, match=re.escape(message)):
        Predictor.from_bundle(folder)


def test_a_card_that_is_not_json_is_a_bundle_error():
    with pytest.raises(BundleError, match="model card is not JSON"):
        ModelCard.from_json("{model_name: x")
    with pytest.raises(BundleError, match="expected a JSON object"):
        ModelCard.from_json("[1, 2]")
