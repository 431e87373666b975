"""requirements/*.txt (what each image installs) against pyproject.toml (the one place versions are chosen)."""

from __future__ import annotations

import importlib.metadata as md

import pytest
from packaging.requirements import Requirement

from tests.deploy import helpers as h

FILES = [p.name for p in h.requirement_files()]


def test_the_image_requirement_files_exist():
    assert {"portal.txt", "mlflow.txt", "trainer.txt"} <= set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_every_pin_matches_pyproject(name):
    pins = h.pyproject_pins()
    problems = []
    for pin in h.requirements_pins(h.REQUIREMENTS_DIR / name).values():
        expected = pins.get(pin.name)
        if expected is None:
            problems.append(f"{pin.line}: not a dependency in pyproject.toml (add it there first)")
        elif (pin.version, pin.extras) != (expected.version, expected.extras):
            problems.append(f"{pin.line}: pyproject.toml pins {expected.line}")
    assert not problems, "\n".join(problems)


def test_trainer_requirements_are_pyproject_minus_torch():
    trainer = set(h.requirements_pins(h.REQUIREMENTS_DIR / "trainer.txt"))
    assert trainer | {"torch"} == set(h.pyproject_pins()), "trainer.txt + torch (TORCH_SPEC) = pyproject.toml's dependencies"
    assert "torch" not in trainer, "torch comes from TORCH_SPEC / TORCH_INDEX_URL (CPU or CUDA wheels)"


@pytest.mark.parametrize("heavy", [*h.HEAVY, "scikit-learn", "matplotlib", "onnx"])
def test_portal_requirements_carry_no_heavy_packages(heavy):
    assert heavy not in h.requirements_pins(h.REQUIREMENTS_DIR / "portal.txt")


def dependency_closure(pins: dict[str, h.Pin]) -> set[str]:
    """Canonical names of the distributions pip would install for these pins (read from the virtualenv's metadata)."""
    seen: set[str] = set()
    todo = [(name, set(pin.extras)) for name, pin in pins.items()]
    while todo:
        name, extras = todo.pop()
        key = h.canonical(name)
        if key in seen and not extras:
            continue
        seen.add(key)
        try:
            requires = md.requires(key) or []
        except md.PackageNotFoundError:
            continue
        for raw in requires:
            req = Requirement(raw)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in environments):
                todo.append((req.name, set(req.extras)))
    return seen


def test_portal_requirements_pull_in_no_heavy_package_transitively():
    closure = dependency_closure(h.requirements_pins(h.REQUIREMENTS_DIR / "portal.txt"))
    assert "onnxruntime" in closure and "django" in closure
    assert not closure & {*h.HEAVY, "scikit-learn", "onnx", "pyarrow"}, sorted(closure)


def test_the_mlflow_image_needs_no_torch_or_evidently():
    closure = dependency_closure(h.requirements_pins(h.REQUIREMENTS_DIR / "mlflow.txt"))
    assert "mlflow" in closure and "psycopg" in closure
    assert not closure & {"torch", "evidently"}


@pytest.mark.parametrize("name", FILES)
def test_every_pyproject_pinned_package_an_image_pulls_in_is_pinned_there(name):
    """Images resolve the same versions the test suite ran with: a dependency of a dependency that pyproject.toml
    pins (numpy under onnxruntime, PyYAML under drf-spectacular) is pinned in the image's file too."""
    pins = h.requirements_pins(h.REQUIREMENTS_DIR / name)
    closure = dependency_closure(pins)
    if name == "trainer.txt":
        closure |= dependency_closure({"torch": h.pyproject_pins()["torch"]})
    unpinned = sorted((closure & set(h.pyproject_pins())) - set(pins) - {"torch"})
    assert not unpinned, f"{name} should pin {[h.pyproject_pins()[n].line for n in unpinned]}"
