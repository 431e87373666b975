"""Each image's Python code, run here with only what that image installs: a subprocess whose imports are limited to
the standard library, the distributions its requirements file pulls in, and the folders its Dockerfile copies.
An import of anything else (torch in the portal, say) fails the test the way it would fail in the container."""

from __future__ import annotations

import functools
import importlib.metadata as md
import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.deploy import helpers as h
from tests.deploy.test_requirements import dependency_closure

# pip, setuptools and wheel ship with the python:3.11-slim base image.
BASE_IMAGE_MODULES = {"pip", "setuptools", "pkg_resources", "_distutils_hack", "wheel"}

BOOTSTRAP = textwrap.dedent(
    """
    import importlib.abc, json, runpy, sys
    allowed = set(json.loads(sys.argv[1]))
    image = sys.argv[2]

    class OnlyWhatTheImageHas(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.split(".")[0]
            if top in allowed or top in sys.stdlib_module_names or top in sys.builtin_module_names or top.startswith("_sysconfigdata"):
                return None
            raise ModuleNotFoundError(f"No module named {name!r} in the {image} image", name=name)

    sys.meta_path.insert(0, OnlyWhatTheImageHas())
    code = sys.argv[3]
    sys.argv = [image, *sys.argv[4:]]
    exec(compile(code, "<image>", "exec"), {"__name__": "__main__"})
    """
)


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    return md.packages_distributions()


def image_modules(requirements: str, first_party: set[str]) -> list[str]:
    closure = dependency_closure(h.requirements_pins(h.REQUIREMENTS_DIR / requirements))
    if requirements == "trainer.txt":
        closure |= dependency_closure({"torch": h.pyproject_pins()["torch"]})
    modules = {module for module, dists in _packages_distributions().items() if any(h.canonical(d) in closure for d in dists)}
    return sorted(modules | first_party | BASE_IMAGE_MODULES)


def copied_top_levels(dockerfile: str) -> set[str]:
    tops = set()
    for ins in h.dockerfile_instructions(h.DOCKER_DIR / dockerfile):
        if ins.keyword in ("COPY", "ADD"):
            for source in h.copy_sources(ins)[0]:
                top = source.rstrip("/").split("/")[0]
                if (h.REPO / top).is_dir():
                    tops.add(top)
    return tops


def run_as_image(image: str, requirements: str, dockerfile: str, code: str, *args: str, env: dict, timeout: int = 120):
    allowed = image_modules(requirements, copied_top_levels(dockerfile))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MLFLOW_", "DATABASE_URL", "MODEL_"))}
    full_env.update(PYTHONDONTWRITEBYTECODE="1", **env)
    return subprocess.run(
        [sys.executable, "-c", BOOTSTRAP, json.dumps(allowed), image, code, *args],
        cwd=h.REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_import_limit_really_blocks(tmp_path):
    result = run_as_image("portal", "portal.txt", "portal.Dockerfile", "import torch", env={})
    assert result.returncode != 0 and "No module named 'torch' in the portal image" in result.stderr


def portal_env(tmp_path) -> dict:
    return {
        "DJANGO_SETTINGS_MODULE": "webportal.settings.base",
        "DEBUG": "0",
        "SECRET_KEY": "test-only",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "MODEL_DIR": str(tmp_path / "models" / "current"),
        "REPORTS_DIR": str(tmp_path / "reports"),
    }


def test_portal_builds_migrates_and_serves_with_only_its_requirements(tmp_path):
    """What portal.Dockerfile and the compose `migrate` service run: collectstatic, migrate, the WSGI app."""
    for needed in ("manage.py", "webportal/wsgi.py", "webportal/settings/base.py"):
        if not (h.REPO / needed).is_file():
            pytest.fail(f"{needed} is missing")
    code = textwrap.dedent(
        f"""
        import django
        django.setup()
        from django.core.management import call_command
        from django.test import override_settings
        call_command("check", fail_level="ERROR")
        with override_settings(STATIC_ROOT={str(tmp_path / "static")!r}):
            call_command("collectstatic", interactive=False, verbosity=0)
        call_command("migrate", interactive=False, verbosity=0)
        import webportal.wsgi
        from django.urls import get_resolver
        get_resolver().url_patterns  # imports every view
        import ml.predictor, onnxruntime
        import sys
        heavy = sorted(m for m in ("torch", "mlflow", "evidently", "sklearn", "pandas") if m in sys.modules)
        print("heavy:", heavy)
        """
    )
    result = run_as_image("portal", "portal.txt", "portal.Dockerfile", code, env=portal_env(tmp_path))
    assert result.returncode == 0, result.stderr[-4000:]
    assert "heavy: []" in result.stdout
    assert (tmp_path / "static").is_dir() and any((tmp_path / "static").iterdir()), "collectstatic collected nothing"


def test_mlflow_image_runs_mlruns_server_with_only_its_requirements():
    if not (h.REPO / "mlruns_server" / "__main__.py").is_file():
        pytest.fail("mlruns_server/__main__.py is missing")
    code = textwrap.dedent(
        """
        import pkgutil, importlib, mlruns_server, runpy
        for info in pkgutil.iter_modules(mlruns_server.__path__):
            if info.name != "__main__":
                importlib.import_module(f"mlruns_server.{info.name}")
        runpy.run_module("mlruns_server", run_name="__main__", alter_sys=True)
        """
    )
    result = run_as_image("mlflow", "mlflow.txt", "mlflow.Dockerfile", code, "--help", env={})
    assert result.returncode == 0, result.stderr[-4000:]
    assert "--artifacts-destination" in result.stdout and "--allowed-hosts" in result.stdout


@pytest.mark.parametrize(
    ("module", "args", "expect"),
    [
        ("monitoring", ["schedule", "--help"], "--every"),
        ("ml", ["--help"], "train"),
        ("ci", ["run", "--help"], "--dry-run"),
    ],
)
def test_trainer_image_entry_points_run_without_dev_packages(module, args, expect):
    """The trainer image has the runtime dependencies only (no pytest, hypothesis, playwright, ruff)."""
    if not (h.REPO / module / "__main__.py").is_file():
        pytest.fail(f"{module}/__main__.py is missing: `python -m {module}` is what the trainer image runs")
    code = f"import runpy; runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    result = run_as_image("trainer", "trainer.txt", "trainer.Dockerfile", code, *args, env={})
    assert result.returncode == 0, result.stderr[-4000:]
    assert expect in result.stdout
