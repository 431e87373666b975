"""The Dockerfiles, read offline: what they copy exists and reaches the build context, what they run exists,
and each image keeps its promises (portal: slim, no heavy packages, non-root, healthcheck, gunicorn)."""

from __future__ import annotations

import re

import pytest

from tests.deploy import commands as cmd
from tests.deploy import helpers as h

DOCKERFILE_IDS = [p.name for p in h.DOCKERFILES]
EXPECTED = {"portal.Dockerfile", "mlflow.Dockerfile", "trainer.Dockerfile"}


def instructions(name: str) -> list[h.Instruction]:
    return h.dockerfile_instructions(h.DOCKER_DIR / name)


def commands(ins_list: list[h.Instruction]) -> list[list[str]]:
    """Token lists of every command an image runs: RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD."""
    out: list[list[str]] = []
    for ins in ins_list:
        args = ins.args
        if ins.keyword == "HEALTHCHECK":
            args = re.sub(r"^(--\S+\s+)*CMD\s+", "", args)
        if ins.keyword not in ("RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK"):
            continue
        if not args.startswith("["):
            out += cmd.split_commands(args)
            continue
        tokens = h.exec_or_shell(args)
        if tokens[:2] in (["sh", "-c"], ["bash", "-c"]):
            for line in cmd.shell_lines(tokens[2]):
                out += cmd.split_commands(line)
        else:
            out.append(tokens)
    return out


def copied_paths(ins_list: list[h.Instruction]) -> set[str]:
    """Repository paths (files and folders, no trailing slash) that an image copies."""
    copied: set[str] = set()
    for ins in ins_list:
        if ins.keyword in ("COPY", "ADD"):
            sources, _ = h.copy_sources(ins)
            copied.update(s.rstrip("/") for s in sources)
    return copied


def test_the_expected_dockerfiles_exist():
    assert {p.name for p in h.DOCKERFILES} >= EXPECTED


@pytest.mark.parametrize("name", DOCKERFILE_IDS)
def test_copied_sources_exist_and_reach_the_build_context(name):
    problems = []
    for ins in instructions(name):
        if ins.keyword not in ("COPY", "ADD"):
            continue
        sources, _ = h.copy_sources(ins)
        for source in sources:
            assert not source.startswith(("http://", "https://")), f"{name}:{ins.lineno}: ADD of a URL"
            if not (h.REPO / source.rstrip("/")).exists() and not list(h.REPO.glob(source)):
                problems.append(f"{name}:{ins.lineno}: COPY {source}: not in the repository")
            elif not h.context_files(source):
                problems.append(f"{name}:{ins.lineno}: COPY {source}: every file is excluded by .dockerignore")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", DOCKERFILE_IDS)
def test_every_command_an_image_runs_exists_and_is_copied(name):
    ins_list = instructions(name)
    copied = copied_paths(ins_list)
    calls = cmd.calls_in(commands(ins_list))
    problems = cmd.problems_in_calls(calls)
    for module in calls.modules:
        top = module.split(".")[0]
        if top in h.first_party_packages() and top not in copied:
            problems.append(f"{name}: runs python -m {module} but never copies {top}/")
    for script in calls.scripts:
        if script not in copied:
            problems.append(f"{name}: runs {script} but never copies it")
    # pip install -r FILE: the file is copied before it is used.
    for tokens in commands(ins_list):
        for i, token in enumerate(tokens[:-1]):
            if token == "-r" and "pip" in tokens:
                assert tokens[i + 1] in copied, f"{name}: pip install -r {tokens[i + 1]} before copying it"
                assert (h.REPO / tokens[i + 1]).is_file()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", DOCKERFILE_IDS)
def test_images_run_as_a_non_root_user(name):
    users = [ins.args.split(":")[0] for ins in h.final_stage(instructions(name)) if ins.keyword == "USER"]
    assert users, f"{name}: no USER instruction (the image would run as root)"
    assert users[-1] not in ("root", "0"), f"{name}: runs as {users[-1]}"


@pytest.mark.parametrize("name", DOCKERFILE_IDS)
def test_images_share_one_uid_so_shared_volumes_are_writable(name):
    text = (h.DOCKER_DIR / name).read_text()
    assert "--uid 10001" in text, f"{name}: the app user must be uid 10001 like the other images (shared volumes)"


def test_portal_image_is_slim_and_serves_with_gunicorn():
    ins_list = instructions("portal.Dockerfile")
    defaults = h.arg_defaults(ins_list)
    froms = [ins.args for ins in ins_list if ins.keyword == "FROM"]
    base = re.sub(r"\$\{(\w+)\}", lambda m: defaults.get(m.group(1), m.group(0)), froms[-1])
    assert base == "python:3.11-slim"
    cmd = h.exec_or_shell(next(ins.args for ins in reversed(ins_list) if ins.keyword == "CMD"))
    assert cmd[0] == "gunicorn" and "--no-control-socket" in cmd
    app = cmd[1].split(":")[0]
    assert (h.REPO / (app.replace(".", "/") + ".py")).is_file(), f"gunicorn app {cmd[1]}: module missing"
    assert any(ins.keyword == "RUN" and "collectstatic" in ins.args for ins in ins_list), "static files are collected at build"
    health = [ins.args for ins in ins_list if ins.keyword == "HEALTHCHECK"]
    assert health and "/healthz" in health[-1]


def test_portal_image_installs_only_the_portal_requirements():
    pip_runs = [ins.args for ins in instructions("portal.Dockerfile") if ins.keyword == "RUN" and "pip install" in ins.args]
    assert pip_runs == ["pip install -r requirements/portal.txt"], pip_runs
    heavy_copied = [p for p in copied_paths(instructions("portal.Dockerfile")) if p in ("requirements/trainer.txt", "pyproject.toml")]
    assert not heavy_copied, f"the portal image must not see the full dependency list: {heavy_copied}"


def test_mlflow_image_runs_mlruns_server_with_proxied_artifacts_and_the_service_name_allowed():
    ins_list = instructions("mlflow.Dockerfile")
    cmd = h.exec_or_shell(next(ins.args for ins in reversed(ins_list) if ins.keyword == "CMD"))
    assert cmd[:3] == ["python", "-m", "mlruns_server"]
    assert cmd[cmd.index("--artifacts-destination") + 1] == "/mlartifacts"
    assert "mlflow" in cmd[cmd.index("--allowed-hosts") + 1].split(",")
    assert any(ins.keyword == "HEALTHCHECK" and "/health" in ins.args for ins in ins_list)
    assert "psycopg" in h.requirements_pins(h.REQUIREMENTS_DIR / "mlflow.txt"), "PostgreSQL backend needs psycopg"


def test_trainer_image_documents_the_gpu_base_and_installs_the_pinned_torch():
    ins_list = instructions("trainer.Dockerfile")
    defaults = h.arg_defaults(ins_list)
    assert defaults["BASE_IMAGE"] == "python:3.11-slim"
    assert ins_list[0].keyword == "ARG" and ins_list[1].args == "${BASE_IMAGE}", "FROM ${BASE_IMAGE}"
    torch = h.pyproject_pins()["torch"]
    assert h.parse_pin(defaults["TORCH_SPEC"]).version == torch.version, "TORCH_SPEC default = pyproject's torch pin"
    assert defaults["TORCH_INDEX_URL"] == h.PYTORCH_CPU_INDEX
    text = (h.DOCKER_DIR / "trainer.Dockerfile").read_text()
    assert "pytorch/pytorch:" in text and "cuda" in text, "the CUDA base image is documented"
    cmd = h.exec_or_shell(next(ins.args for ins in reversed(ins_list) if ins.keyword == "CMD"))
    assert cmd == ["python", "-m", "ci", "run"]


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context():
    for path in (".env", ".git/config", ".venv/bin/python", "var/portal.sqlite3", "artifacts/bundle/model.onnx", "data/x.csv"):
        assert h.dockerignored(path), path
    for path in ("ml/text.py", "webportal/env.py", "requirements/portal.txt", "manage.py"):
        assert not h.dockerignored(path), path


@pytest.mark.parametrize("name", DOCKERFILE_IDS)
def test_folders_the_app_writes_belong_to_the_app_user(name):
    """Every *_DIR set in the image (or its parent, for MODEL_DIR=/models/current) is chowned to the app user."""
    ins_list = instructions(name)
    chowned: set[str] = set()
    for ins in ins_list:
        if ins.keyword == "RUN" and "chown" in ins.args:
            for command in cmd.split_commands(ins.args):
                if command[0] == "chown":
                    chowned.update(arg.rstrip("/") for arg in command[2:] if arg.startswith("/"))
    dirs = []
    for ins in ins_list:
        if ins.keyword == "ENV":
            dirs += re.findall(r"\b\w+_DIR=(/[^\s\"]+)", ins.args)
    problems = [d for d in dirs if not d.startswith("/tmp") and d not in chowned and d.rsplit("/", 1)[0] not in chowned]
    assert not problems, f"{name}: not owned by the app user: {problems}"
