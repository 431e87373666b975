"""Registry scenarios with the MLflow server on PostgreSQL (127.0.0.1:5432, a throwaway database per run; see conftest.server_pool)."""

from __future__ import annotations

import pytest

from tests.registry import scenarios

pytestmark = pytest.mark.postgres


def test_first_promotion(pg_registry, model_name, tmp_path):
    scenarios.first_promotion(pg_registry, model_name, tmp_path)


def test_rollback_twice(pg_registry, model_name):
    scenarios.rollback_twice(pg_registry, model_name)


def test_two_promotions_at_once(pg_registry, model_name):
    scenarios.concurrent_promotions(pg_registry, model_name)
