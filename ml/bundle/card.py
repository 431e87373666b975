"""The model card (`model_card.json`): what a bundle's model is, where it came from, how it scored.

The fields are listed in the `ml.bundle` docstring and in docs/contracts.md; a test holds both lists to
`ModelCard`. Reading is lenient where the readers always were (a missing field takes its default, keys
outside the contract are ignored) and strict where it matters: a value of the wrong type, or a contract
version newer than this code, is a BundleError naming the field.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from common.names import MODEL_NAME
from ml.bundle.layout import BundleError

CARD_VERSION = 1  # the contract version this code writes and the newest it reads

_TEXT_FIELDS = ("model_version", "run_id", "experiment_id", "model_type", "data_digest", "git_commit", "created_at", "device")
_INT_FIELDS = ("data_rows", "tokenizer_version")
_OBJECT_FIELDS = ("metrics", "glove", "params")


@dataclass(frozen=True)
class ModelCard:
    contract_version: int = CARD_VERSION
    model_name: str = MODEL_NAME
    model_version: str | None = None
    run_id: str | None = None
    experiment_id: str | None = None
    model_type: str | None = None
    variable_length: bool = False
    temperature: float = 1.0
    metrics: dict[str, float] = field(default_factory=dict)
    data_digest: str | None = None
    data_rows: int | None = None
    git_commit: str | None = None
    created_at: str | None = None
    device: str | None = None
    tokenizer_version: int | None = None
    glove: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """The version a bundle is known by: the registry version when known, else the training run id."""
        return str(self.model_version or self.run_id or "unversioned")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        """The card in `data`; BundleError for a future contract version or a field of the wrong type."""
        if not isinstance(data, dict):
            raise BundleError("model card: expected a JSON object")
        values: dict[str, Any] = {"contract_version": _contract_version(data.get("contract_version", 1))}
        values["model_name"] = _text(data, "model_name") or MODEL_NAME
        values |= {name: _text(data, name) for name in _TEXT_FIELDS}
        values |= {name: _integer(data, name) for name in _INT_FIELDS}
        values |= {name: _object(data, name) for name in _OBJECT_FIELDS}
        values["variable_length"] = _flag(data, "variable_length")
        values["temperature"] = _temperature(data)
        _check_metrics(values["metrics"])
        return cls(**values)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelCard:
        try:
            data = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleError(f"model card is not JSON: {exc}") from exc
        return cls.from_dict(data)


def card_fields() -> tuple[str, ...]:
    """The contract's field names, in file order."""
    return tuple(f.name for f in fields(ModelCard))


def _contract_version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BundleError(f"model card: contract_version must be a positive integer, not {value!r}")
    if value > CARD_VERSION:
        raise BundleError(
            f"model card contract version {value} is newer than this code reads (up to {CARD_VERSION}): "
            "update the serving code before deploying this bundle"
        )
    return value


def _wrong_type(name: str, expected: str, value: Any) -> BundleError:
    return BundleError(f"model card: field {name!r} must be {expected}, not {type(value).__name__} {value!r}"[:300])


def _text(data: dict, name: str) -> str | None:
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a registry version written as a number
    raise _wrong_type(name, "a string", value)


def _integer(data: dict, name: str) -> int | None:
    value = data.get(name)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise _wrong_type(name, "an integer", value)


def _object(data: dict, name: str) -> dict:
    value = data.get(name)
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise _wrong_type(name, "an object", value)


def _flag(data: dict, name: str) -> bool:
    value = data.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    raise _wrong_type(name, "true or false", value)


def _temperature(data: dict) -> float:
    value = data.get("temperature")
    if value is None:
        return 1.0  # cards written before calibration: the model's probabilities are its own
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise _wrong_type("temperature", "a positive number", value)
    return float(value)


def _check_metrics(metrics: dict) -> None:
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong_type(f"metrics.{key}", "a number", value)
