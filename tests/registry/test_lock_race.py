"""The promotion lock under the one race the stores expose: the holder releases between a loser's insert
and the store's read-back, so the loser's create answers RESOURCE_DOES_NOT_EXIST instead of ALREADY_EXISTS.

The real race needs two promoters timed to a millisecond on PostgreSQL (it failed CI once); this client
replays the store's answers in that order, so the lock's handling of it is checked every run."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, TEMPORARILY_UNAVAILABLE

from ml.registry.lock import lock_name, promotion_lock


class ReplayingClient:
    """create_registered_model answers the scripted errors first, then succeeds; records every call."""

    def __init__(self, create_errors):
        self.create_errors = list(create_errors)
        self.models: dict[str, dict] = {}
        self.calls: list[str] = []

    def create_registered_model(self, name, tags=None, description=None):
        self.calls.append("create")
        if self.create_errors:
            raise self.create_errors.pop(0)
        self.models[name] = dict(tags or {})

    def get_registered_model(self, name):
        self.calls.append("get")
        if name not in self.models:
            raise MlflowException(f"Registered Model with name={name} not found", error_code=RESOURCE_DOES_NOT_EXIST)
        return type("Model", (), {"tags": self.models[name]})()

    def delete_registered_model(self, name):
        self.calls.append("delete")
        del self.models[name]


def test_a_lock_released_during_the_losers_create_is_retried_and_taken():
    gone = MlflowException("Registered Model with name=x.promotion-lock not found", error_code=RESOURCE_DOES_NOT_EXIST)
    client = ReplayingClient([gone])
    with promotion_lock(client, "cc", wait_s=5) as token:
        assert client.models[lock_name("cc")]["lock.token"] == token
    assert client.models == {}, "released after the block"
    assert client.calls[:3] == ["create", "get", "create"]


def test_a_registry_that_is_down_still_fails_the_promotion():
    down = MlflowException("service unavailable", error_code=TEMPORARILY_UNAVAILABLE)
    client = ReplayingClient([down])
    with pytest.raises(MlflowException), promotion_lock(client, "cc", wait_s=5):
        pass
    assert client.models == {}
