"""Offline readers for the deployment files: Dockerfiles, .dockerignore, requirements, pins (the commands they
run: commands.py).

Everything here reads the repository as it is at test time; nothing needs Docker, a network or a GPU.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

from common.paths import PROJECT_ROOT as REPO

DOCKER_DIR = REPO / "docker"
REQUIREMENTS_DIR = REPO / "requirements"
DOCKERFILES = sorted(DOCKER_DIR.glob("*.Dockerfile"))
HEAVY = ("torch", "mlflow", "evidently")
PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


# ---------------------------------------------------------------------------------------------------------- pins
def canonical(name: str) -> str:
    """PEP 503 name: lower case, runs of -_. as one dash."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    name: str  # canonical
    extras: tuple[str, ...]
    version: str
    line: str


_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*==\s*([^\s;#]+)\s*$")


def parse_pin(line: str) -> Pin:
    text = line.split("#", 1)[0].strip()
    match = _PIN.match(text)
    if not match:
        raise ValueError(f"not an exact pin (name==version): {line!r}")
    name, extras, version = match.groups()
    extra_names = tuple(sorted(e.strip().lower() for e in (extras or "").split(",") if e.strip()))
    return Pin(canonical(name), extra_names, version, text)


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def pyproject_pins() -> dict[str, Pin]:
    return {pin.name: pin for pin in (parse_pin(dep) for dep in pyproject()["project"]["dependencies"])}


def requirement_files() -> list[Path]:
    return sorted(REQUIREMENTS_DIR.glob("*.txt"))


def requirements_pins(path: Path) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    for raw in path.read_text().splitlines():
        if not raw.split("#", 1)[0].strip():
            continue
        pin = parse_pin(raw)
        pins[pin.name] = pin
    return pins


def first_party_packages() -> set[str]:
    """Top-level packages the project ships (pyproject's setuptools include list, e.g. ml*, ci*)."""
    includes = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    return {pattern.rstrip("*").rstrip(".") for pattern in includes}


# ----------------------------------------------------------------------------------------------------- Dockerfile
@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    lineno: int


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """Instructions with line continuations joined and comments dropped (enough for this project's files)."""
    out: list[Instruction] = []
    pending = ""
    start = 0
    for lineno, raw in enumerate(path.read_text().splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = lineno
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        pending += stripped
        keyword, _, args = pending.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
        pending = ""
    assert not pending, f"{path}: dangling line continuation"
    return out


def exec_or_shell(args: str) -> list[str]:
    """CMD/ENTRYPOINT/RUN arguments as a token list: JSON exec form, else shell words."""
    if args.startswith("["):
        return [str(item) for item in json.loads(args)]
    return shlex.split(args)


def copy_sources(instruction: Instruction) -> tuple[list[str], str]:
    """Sources and destination of a COPY/ADD from the build context ([] sources for COPY --from=stage)."""
    if instruction.args.startswith("["):
        tokens = json.loads(instruction.args)
    else:
        tokens = shlex.split(instruction.args)
    flags = [t for t in tokens if t.startswith("--")]
    rest = [t for t in tokens if not t.startswith("--")]
    if any(flag.startswith("--from") for flag in flags):
        return [], rest[-1]
    return rest[:-1], rest[-1]


def arg_defaults(instructions: list[Instruction]) -> dict[str, str]:
    defaults: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword == "ARG":
            name, _, value = ins.args.partition("=")
            defaults[name.strip()] = value.strip().strip('"')
    return defaults


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    starts = [i for i, ins in enumerate(instructions) if ins.keyword == "FROM"]
    assert starts, "no FROM"
    return instructions[starts[-1] :]


# ---------------------------------------------------------------------------------------------------- dockerignore
def dockerignore_patterns() -> list[tuple[bool, str]]:
    """(negated, pattern) pairs from .dockerignore, in order."""
    path = REPO / ".dockerignore"
    patterns: list[tuple[bool, str]] = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        patterns.append((negated, pattern.strip("/").removeprefix("./")))
    return patterns


def _match(pattern: str, rel: str) -> bool:
    """Docker's rules, closely enough: anchored at the context root, `**` spans folders, a match on a folder
    excludes everything below it."""
    regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
    parts = rel.split("/")
    return any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1))


def dockerignored(rel: str) -> bool:
    ignored = False
    for negated, pattern in dockerignore_patterns():
        if _match(pattern, rel):
            ignored = not negated
    return ignored


def context_files(source: str) -> list[str]:
    """Files under a COPY source (a file, a folder or a glob) that reach the build context."""
    matches = sorted(REPO.glob(source.rstrip("/"))) if any(c in source for c in "*?[") else [REPO / source.rstrip("/")]
    files: list[str] = []
    for match in matches:
        if not match.exists():
            continue
        candidates = [match] if match.is_file() else [p for p in match.rglob("*") if p.is_file()]
        files += [p.relative_to(REPO).as_posix() for p in candidates if not dockerignored(p.relative_to(REPO).as_posix())]
    return files
