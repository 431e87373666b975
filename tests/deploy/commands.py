"""Offline readers for the commands in CI scripts, Dockerfiles and compose: which repository entry points they
call (`python -m X`, `python file.py`, `make T`, `bash f.sh`, `-f FILE`) and whether each exists."""

from __future__ import annotations

import importlib.util
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.helpers import REPO, first_party_packages


def module_problem(module: str) -> str | None:
    """Why `python -m module` cannot run from this checkout (None when it can)."""
    top = module.split(".")[0]
    path = REPO / Path(*module.split("."))
    if top in first_party_packages() or (REPO / top).is_dir() or (REPO / f"{top}.py").is_file():
        if (path / "__main__.py").is_file() or path.with_suffix(".py").is_file():
            return None
        return f"python -m {module}: {path.relative_to(REPO)}/__main__.py does not exist (yet)"
    if importlib.util.find_spec(top) is None:
        return f"python -m {module}: no such module in the repository or the virtualenv"
    return None


def makefile_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    targets: set[str] = set()
    for match in re.finditer(r"^([A-Za-z0-9_./$()-][^:=\s]*(?:\s+[^:=\s]+)*)\s*:(?![=])", text, flags=re.M):
        targets.update(match.group(1).split())
    return targets


def shell_lines(script: str) -> list[str]:
    """Logical lines of a shell script (continuations joined, comments dropped)."""
    lines: list[str] = []
    pending = ""
    for raw in script.splitlines():
        stripped = raw.strip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        line = (pending + stripped).strip()
        pending = ""
        if line and not line.startswith("#"):
            lines.append(line)
    if pending.strip():
        lines.append(pending.strip())
    return lines


def words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError:
        return line.split()


PYTHONS = re.compile(r"^(?:.*/)?python(?:3(?:\.\d+)?)?$")


@dataclass(frozen=True)
class Calls:
    modules: tuple[str, ...]
    make_targets: tuple[str, ...]
    scripts: tuple[str, ...]
    files: tuple[str, ...]


_SCRIPT_SUFFIXES = (".sh", ".py")


def _names_a_file(tokens: list[str], i: int) -> bool:
    """`cp FILE ...` and `docker ... -f FILE` name repository files."""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if not nxt or nxt.startswith("-") or "$" in nxt:
        return False
    return (tokens[i] == "cp" and i == 0) or (tokens[i] == "-f" and tokens[0] in ("docker", "docker-compose"))


def calls_in(tokens_list: list[list[str]]) -> Calls:
    """Repository entry points named by commands: `python -m X`, `python file.py`, `make T`, `bash f.sh`, `-f FILE`."""
    modules: list[str] = []
    targets: list[str] = []
    scripts: list[str] = []
    files: list[str] = []
    for tokens in tokens_list:
        for i, token in enumerate(tokens):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if PYTHONS.match(token) and nxt == "-m" and i + 2 < len(tokens):
                modules.append(tokens[i + 2])
            elif PYTHONS.match(token) and nxt.endswith(".py") and not nxt.startswith("-"):
                scripts.append(nxt)
            elif token == "make":
                j = i + 1
                while j < len(tokens) and not tokens[j].startswith(("&", "|", ";")) and tokens[j] not in ("&&", "||"):
                    if not tokens[j].startswith("-") and "=" not in tokens[j]:
                        targets.append(tokens[j])
                    j += 1
            elif token in ("bash", "sh") and nxt.endswith(_SCRIPT_SUFFIXES):
                scripts.append(nxt)
            elif token.startswith("./") and token.endswith(_SCRIPT_SUFFIXES):
                scripts.append(token[2:])
            elif _names_a_file(tokens, i):
                files.append(nxt)
    return Calls(tuple(modules), tuple(targets), tuple(scripts), tuple(files))


def split_commands(line: str) -> list[list[str]]:
    """Words of each simple command in a line (split on && || ; |)."""
    commands: list[list[str]] = [[]]
    for word in words(line):
        if word in ("&&", "||", ";", "|"):
            commands.append([])
        elif word.endswith(";") and len(word) > 1:
            commands[-1].append(word[:-1])
            commands.append([])
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


def script_calls(script: str) -> Calls:
    tokens: list[list[str]] = []
    for line in shell_lines(script):
        tokens += split_commands(line)
        # Commands nested in bash -c '...' strings are scanned too.
        for word in words(line):
            if "\n" in word or " " in word:
                for inner in shell_lines(word):
                    tokens += split_commands(inner)
    return calls_in(tokens)


def problems_in_calls(calls: Calls) -> list[str]:
    problems = [p for p in (module_problem(m) for m in calls.modules) if p]
    targets = makefile_targets()
    problems += [f"make {t}: no such target in the Makefile" for t in calls.make_targets if t not in targets]
    problems += [f"{s}: no such script in the repository" for s in calls.scripts if not (REPO / s).is_file()]
    problems += [f"{f}: no such file in the repository" for f in calls.files if not (REPO / f).is_file()]
    return problems
