"""The CI definitions (GitHub Actions, Azure Pipelines): they parse, they call only what exists in the repository,
and both run the same stages: the test suite, then the one runner (`python -m ci run`), publishing the bundle,
the reports and the images."""

from __future__ import annotations

import pytest
import yaml

from tests.deploy import commands as cmd
from tests.deploy import helpers as h

GITHUB = h.REPO / ".github" / "workflows" / "pipeline.yml"
AZURE = h.REPO / "azure-pipelines.yml"


def load(path):
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    return data


def github_scripts() -> list[str]:
    workflow = load(GITHUB)
    return [step["run"] for job in workflow["jobs"].values() for step in job.get("steps", []) if "run" in step]


def azure_scripts() -> list[str]:
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("script", "bash") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(load(AZURE))
    return found


SCRIPTS = {"github": github_scripts, "azure": azure_scripts}


def all_calls(which: str) -> cmd.Calls:
    merged = cmd.Calls((), (), (), ())
    for script in SCRIPTS[which]():
        calls = cmd.script_calls(script)
        merged = cmd.Calls(*(a + b for a, b in zip(merged.__dict__.values(), calls.__dict__.values(), strict=True)))
    return merged


def test_github_workflow_parses_and_has_the_three_jobs():
    workflow = load(GITHUB)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the bare key `on` as True
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    assert set(workflow["jobs"]) == {"test", "pipeline", "images"}
    assert workflow["jobs"]["pipeline"]["needs"] == "test"
    assert "gpu" in str(workflow["jobs"]["pipeline"]["runs-on"]), "the training job can run on a GPU runner"


def test_azure_pipeline_parses_and_has_the_three_stages():
    pipeline = load(AZURE)
    assert [stage["stage"] for stage in pipeline["stages"]] == ["Test", "Pipeline", "Images"]
    assert any(p["name"] == "gpuPool" for p in pipeline["parameters"]), "the training pool is a parameter"
    assert pipeline["stages"][1]["dependsOn"] == "Test"


@pytest.mark.parametrize("which", sorted(SCRIPTS))
def test_every_command_called_exists_in_the_repository(which):
    problems = cmd.problems_in_calls(all_calls(which))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("which", sorted(SCRIPTS))
def test_both_run_the_tests_then_the_same_runner(which):
    calls = all_calls(which)
    assert "test" in calls.make_targets
    assert "ci" in calls.modules
    text = "\n".join(SCRIPTS[which]())
    assert "python -m ci run" in text
    for dockerfile in ("docker/portal.Dockerfile", "docker/mlflow.Dockerfile", "docker/trainer.Dockerfile"):
        assert dockerfile in calls.files, f"{which}: does not build {dockerfile}"
    assert "docker-compose.yml" in calls.files


@pytest.mark.parametrize("which", sorted(SCRIPTS))
def test_both_publish_the_bundle_reports_and_images(which):
    if which == "github":
        steps = [s for job in load(GITHUB)["jobs"].values() for s in job["steps"] if "upload-artifact" in s.get("uses", "")]
        names = {s["with"]["name"] for s in steps}
    else:
        names = set()

        def walk(node):
            if isinstance(node, dict):
                if str(node.get("task", "")).startswith("PublishPipelineArtifact"):
                    names.add(node["inputs"]["artifact"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(load(AZURE))
    assert {"inference-bundle", "pipeline-reports", "images", "test-reports"} <= names


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure"])
def test_the_torch_pin_matches_pyproject(path):
    assert f"TORCH_SPEC: {h.pyproject_pins()['torch'].line}" in path.read_text()


def _pipeline_run_script(which: str) -> str:
    return next(s for s in SCRIPTS[which]() if "python -m ci run" in s and "--dry-run" not in s)


@pytest.mark.parametrize("which", sorted(SCRIPTS))
def test_a_rejected_model_is_a_warning_or_a_failure_not_silence(which):
    """Both definitions pass --on-reject from a setting whose default is a known choice; the CLI then writes the CI
    system's own annotation (and exit status 3 for fail), so a rejection is never a silent green run."""
    from ci.verdict import EXIT_REJECTED, ON_REJECT, annotations, exit_status

    assert "--on-reject" in _pipeline_run_script(which)
    if which == "github":
        step = next(s for job in load(GITHUB)["jobs"].values() for s in job["steps"] if "--on-reject" in s.get("run", ""))
        default = step["env"]["PIPELINE_ON_REJECT"].rsplit("'", 2)[-2]
        env = {"GITHUB_ACTIONS": "true"}
        expected = {"warn": "::warning title=Model gate::", "fail": "::error title=Model gate::"}
    else:
        parameter = next(p for p in load(AZURE)["parameters"] if p["name"] == "onReject")
        assert set(parameter["values"]) == set(ON_REJECT) and load(AZURE)["variables"]["PIPELINE_ON_REJECT"] == "${{ parameters.onReject }}"
        default = parameter["default"]
        env = {"TF_BUILD": "True"}
        expected = {"warn": "##vso[task.logissue type=warning]", "fail": "##vso[task.logissue type=error]"}
    assert default in ON_REJECT
    line = "new model v3 rejected by the gate; production unchanged (v2)"
    for mode in ON_REJECT:
        marks = annotations(line, status="rejected", on_reject=mode, environ=env)
        assert any(m.startswith(expected[mode]) and m.endswith(line) for m in marks), (mode, marks)
    assert exit_status("rejected", on_reject="fail") == EXIT_REJECTED and exit_status("rejected", on_reject="warn") == 0
    assert annotations(line, status="succeeded", on_reject="fail", environ=env) == []
