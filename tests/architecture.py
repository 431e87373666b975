"""Reading the tree for tests/test_architecture.py: the import-rules table of docs/architecture.md, every
import statement of a .py file (module level and inside functions), the import graph, and sizes.

Plain functions over a root folder, so the test can also run them on a small tree it writes itself.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SKIPPED_DIRS = {"__pycache__", ".venv", "node_modules"}


@dataclass(frozen=True)
class Rule:
    folder: str  # a top-level folder, e.g. "webportal"
    may: tuple[str, ...]  # project modules (dotted prefixes) it may import
    must_not: tuple[str, ...]  # modules (dotted prefixes, project or third-party) it must never import


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str  # dotted; for `from a import b` this is "a.b"
    module_level: bool  # runs when the file is imported (not inside a function, not under TYPE_CHECKING)

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root)}:{self.line}"


def import_rules(markdown: str) -> dict[str, Rule]:
    """The rows of the table under the `## Import rules` heading: folder | may import | must not import."""
    section = re.search(r"^## Import rules\n(.*?)(?=^## |\Z)", markdown, flags=re.M | re.S)
    if section is None:
        raise ValueError("docs/architecture.md has no '## Import rules' section")
    rules = {}
    for line in section.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        folder = cells[0].strip("`").rstrip("/")
        may, must_not = (tuple(re.findall(r"`([^`]+)`", cell)) for cell in cells[1:])
        rules[folder] = Rule(folder=folder, may=may, must_not=must_not)
    return rules


def matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def python_files(root: Path, folder: str) -> list[Path]:
    return sorted(p for p in (root / folder).rglob("*.py") if not SKIPPED_DIRS & set(p.relative_to(root).parts))


def dotted_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _deferred(node: ast.AST) -> bool:
    """A block whose imports do not run when the module is imported: a function body, or `if TYPE_CHECKING:`."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        return True
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


@cache
def imports_of(root: Path, path: Path) -> tuple[Import, ...]:
    """Every import statement in a file: module level, in classes, in functions, in try/except and if blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = dotted_name(root, path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: list[Import] = []

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(path, child.lineno, alias.name, module_level) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = ".".join(package[: len(package) - child.level + 1])
                    base = f"{base}.{child.module}" if child.module else base
                else:
                    base = child.module or ""
                found.extend(Import(path, child.lineno, f"{base}.{alias.name}", module_level) for alias in child.names)
            else:
                visit(child, module_level and not _deferred(child))

    visit(tree, True)
    return tuple(found)


def rule_violations(root: Path, rules: dict[str, Rule], project: set[str]) -> list[str]:
    """Each import that a folder's rule forbids, or a project import its rule does not list: 'file:line: why'."""
    problems = []
    for folder, rule in rules.items():
        for path in python_files(root, folder):
            for imp in imports_of(root, path):
                banned = next((p for p in rule.must_not if matches(imp.module, p)), None)
                if banned is not None:
                    problems.append(f"{imp.where(root)}: {folder}/ imports {imp.module} (must not import {banned})")
                elif imp.module.split(".")[0] in project and not any(matches(imp.module, p) for p in rule.may):
                    problems.append(f"{imp.where(root)}: {folder}/ imports {imp.module} (may import only {', '.join(rule.may)})")
    return problems


def module_index(root: Path, folders: list[str]) -> dict[str, Path]:
    return {dotted_name(root, p): p for folder in folders for p in python_files(root, folder)}


def _loaded_by(module: str, index: dict[str, Path]) -> list[str]:
    """The project modules an `import module` executes: every package on the way down, and the module itself."""
    parts = module.split(".")
    return [name for name in (".".join(parts[:i]) for i in range(1, len(parts) + 1)) if name in index]


def module_level_reach(root: Path, start: Path, index: dict[str, Path]) -> dict[str, list[Import]]:
    """Every module (project or third-party) that importing `start` executes, each with the import chain that gets there."""
    chains: dict[str, list[Import]] = {dotted_name(root, start): []}
    queue = deque([dotted_name(root, start)])
    while queue:
        current = queue.popleft()
        for imp in imports_of(root, index[current]):
            if not imp.module_level:
                continue
            for name in _loaded_by(imp.module, index) or [imp.module]:
                if name not in chains:
                    chains[name] = [*chains[current], imp]
                    if name in index:
                        queue.append(name)
    return chains


def third_party_reach_violations(root: Path, rules: dict[str, Rule], project: set[str]) -> list[str]:
    """A file whose import (module level, through any chain of project modules) loads a third-party module its rule forbids."""
    index = module_index(root, [f for f in rules if (root / f).is_dir()])
    problems = []
    for folder, rule in rules.items():
        banned = [p for p in rule.must_not if p.split(".")[0] not in project]
        if not banned:
            continue
        for path in python_files(root, folder):
            for module, chain in module_level_reach(root, path, index).items():
                hit = next((p for p in banned if matches(module, p)), None)
                if hit is not None and len(chain) > 1:  # a direct import is rule_violations' to report
                    steps = " -> ".join(f"{imp.where(root)} imports {imp.module}" for imp in chain)
                    problems.append(f"{path.relative_to(root)}: importing it loads {hit} ({steps})")
    return problems


def oversized(root: Path, folders: list[str], *, max_file_lines: int, max_function_lines: int) -> list[str]:
    """Files over `max_file_lines` and functions over `max_function_lines` (Django migrations are generated: exempt)."""
    problems = []
    for folder in folders:
        for path in python_files(root, folder):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            where = path.relative_to(root)
            if (lines := len(text.splitlines())) > max_file_lines:
                problems.append(f"{where}:1: {lines} lines (limit {max_file_lines})")
            for node in ast.walk(ast.parse(text, filename=str(path))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = node.end_lineno - node.lineno + 1
                    if length > max_function_lines:
                        problems.append(f"{where}:{node.lineno}: function {node.name} is {length} lines (limit {max_function_lines})")
    return problems
