"""An unreachable server told apart from a refusal by exception type, through the chain MLflow leaves."""

from __future__ import annotations

import requests
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

from ml.registry.errors import is_connection_error, is_missing, request_never_sent


def _raised_by_mlflow_while_handling(cause: BaseException) -> MlflowException:
    """What MLflow's REST client raises: a new MlflowException inside `except`, so `cause` is its __context__."""
    try:
        raise cause
    except BaseException:
        try:
            raise MlflowException("the request did not complete")
        except MlflowException as exc:
            return exc


def test_the_cause_is_read_by_type_when_the_message_says_nothing():
    refused = _raised_by_mlflow_while_handling(ConnectionRefusedError(111, "no listener"))
    assert is_connection_error(refused) and request_never_sent(refused)
    timed_out = _raised_by_mlflow_while_handling(requests.exceptions.ReadTimeout("read took too long"))
    assert is_connection_error(timed_out) and not request_never_sent(timed_out)
    dropped = _raised_by_mlflow_while_handling(requests.exceptions.ConnectionError("reset by peer"))
    assert is_connection_error(dropped) and not request_never_sent(dropped)


def test_a_refusal_by_the_server_is_not_a_connection_error():
    refusal = _raised_by_mlflow_while_handling(ValueError("unexpected answer"))
    assert not is_connection_error(refusal) and not request_never_sent(refusal)
    missing = MlflowException("no such version", error_code=RESOURCE_DOES_NOT_EXIST)
    assert is_missing(missing) and not is_connection_error(missing)
    unreachable_but_coded = _raised_by_mlflow_while_handling(ConnectionRefusedError(111, "no listener"))
    unreachable_but_coded.error_code = "RESOURCE_DOES_NOT_EXIST"
    assert not is_missing(unreachable_but_coded)
