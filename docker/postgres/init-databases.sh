#!/bin/sh
# Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d):
# one database for the portal (POSTGRES_DB) and one for the MLflow backend store (MLFLOW_DB).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE DATABASE "${MLFLOW_DB:-mlflow}" OWNER "$POSTGRES_USER";
SQL
