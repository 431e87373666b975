# Component-compliance MLOps platform. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := chromium docker-compose wrk kubectl

# Tools write nothing outside the project.
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export XDG_CACHE_HOME := $(CURDIR)/.cache
export TORCHINDUCTOR_CACHE_DIR := $(CURDIR)/.cache/torchinductor
export MPLCONFIGDIR := $(CURDIR)/.cache/matplotlib
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install system-deps run mlflow portal stop test test-fast lint format bench clean

 
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(PY):
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project (quick when nothing changed)

system-deps: ## Install the Debian packages the tests need (chromium, docker-compose, wrk, kubectl) when missing
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

run: install ## Run the main job: the pipeline end to end, then keep the portal and MLflow UI up
	$(PY) -m ci run

mlflow: install ## Start only the MLflow tracking server and UI on 127.0.0.1:5000 (foreground)
	$(PY) -m mlruns_server

# `make portal` serves the model `make run` deployed to production when there is one, else artifacts/bundle.
DEV_MODEL_DIR := $(if $(wildcard var/deploy/production/model/model.onnx),var/deploy/production/model,artifacts/bundle)
DEV_PORTAL_PORT ?= 8002

portal: install ## Start a development portal on 127.0.0.1:8002 (DEBUG on) serving MODEL_DIR: production's model after `make run`, else artifacts/bundle
	DEBUG=1 MODEL_DIR=$${MODEL_DIR:-$(DEV_MODEL_DIR)} $(PY) manage.py migrate --noinput
	DEBUG=1 PORTAL_DEMO_PASSWORD=$${PORTAL_DEMO_PASSWORD:-$$(cat var/deploy/.demo_password 2>/dev/null)} $(PY) manage.py setup_roles --demo-users
	@echo "development portal: http://127.0.0.1:$(DEV_PORTAL_PORT) serving $${MODEL_DIR:-$(DEV_MODEL_DIR)} (database var/portal.sqlite3)"
	DEBUG=1 MODEL_DIR=$${MODEL_DIR:-$(DEV_MODEL_DIR)} $(PY) manage.py runserver 127.0.0.1:$(DEV_PORTAL_PORT)

stop: ## Stop the portals and the MLflow server that `make run` started
	$(PY) -m ci stop

test: install system-deps ## Run the whole test suite (unit, integration, browser, end to end)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

test-fast: install ## Run the tests not marked slow
	$(PY) -m pytest -m "not slow"

lint: install ## Lint and check formatting with ruff
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install ## Format and fix with ruff
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: install ## Run the benchmarks (tables of ratios, side by side); needs `make run` first for artifacts
	$(PY) bench/inference.py --bundle var/deploy/production/model
	$(PY) bench/registry.py
	$(PY) bench/serving.py
	$(PY) bench/faults.py --bundle var/deploy/production/model
	$(PY) bench/monitoring.py --bundle var/deploy/production/model
	$(PY) bench/documents.py --bundle var/deploy/production/model
	$(PY) bench/pipeline.py

clean: ## Remove generated data, artifacts and caches (keeps .venv)
	rm -rf artifacts var reports .cache .pytest_cache .ruff_cache mlruns mlflow.db test-artifacts
