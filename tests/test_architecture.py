"""docs/architecture.md holds: the import-rules table is read from the page and checked against every import
statement of every .py file (module level and inside functions, and what a module-level import loads
through other project modules); common/ imports the standard library alone; files and functions stay small.

Each failure line names the file and line: `path:line: what is wrong`.
"""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from common.paths import PROJECT_ROOT
from tests.architecture import (
    Rule,
    import_rules,
    imports_of,
    oversized,
    python_files,
    rule_violations,
    third_party_reach_violations,
)

ARCHITECTURE = PROJECT_ROOT / "docs" / "architecture.md"
SIZED_FOLDERS = ["ml", "ci", "monitoring", "webportal", "common", "mlruns_server"]
MAX_FILE_LINES, MAX_FUNCTION_LINES = 320, 65


@cache
def rules() -> dict[str, Rule]:
    return import_rules(ARCHITECTURE.read_text(encoding="utf-8"))


def report(problems: list[str]) -> str:
    return f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_the_table_covers_every_python_folder():
    tracked = subprocess.run(["git", "ls-files", "--", "*.py"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    folders = {Path(line).parts[0] for line in tracked.splitlines() if len(Path(line).parts) > 1}
    assert folders <= set(rules()), f"folders with Python code but no row in {ARCHITECTURE.name}: {sorted(folders - set(rules()))}"
    for rule in rules().values():
        assert rule.may, f"the row for {rule.folder}/ lists nothing it may import: {rule}"
        assert rule.must_not or rule.folder == "tests", f"the row for {rule.folder}/ lists nothing it must not import: {rule}"


def test_the_stated_rules_are_in_the_table():
    """The rules the project states in words (README, docs/architecture.md) are rows of the table, not just prose."""
    table = rules()
    assert {"torch", "mlflow", "evidently"} <= set(table["webportal"].must_not)
    assert {"django", "torch"} <= set(table["monitoring"].must_not)
    assert set(table["common"].may) == {"common"}
    assert {"webportal", "monitoring", "ci"} <= set(table["ml"].must_not)
    assert all("tests" in rule.must_not for name, rule in table.items() if name != "tests"), "something may import tests/"


def test_every_import_follows_the_table():
    project = set(rules())
    assert not (problems := rule_violations(PROJECT_ROOT, rules(), project)), report(problems)


def test_no_module_level_import_chain_loads_a_forbidden_package():
    """E.g. a portal module importing ml.x at module level, where ml.x imports torch at module level."""
    project = set(rules())
    assert not (problems := third_party_reach_violations(PROJECT_ROOT, rules(), project)), report(problems)


def test_common_imports_the_standard_library_only():
    problems = [
        f"{imp.where(PROJECT_ROOT)}: common/ imports {imp.module}, which is not in the standard library"
        for path in python_files(PROJECT_ROOT, "common")
        for imp in imports_of(PROJECT_ROOT, path)
        if imp.module.split(".")[0] not in sys.stdlib_module_names and imp.module.split(".")[0] != "common"
    ]
    assert python_files(PROJECT_ROOT, "common"), "common/ has no Python files"
    assert not problems, report(problems)


def test_files_and_functions_stay_small():
    problems = oversized(PROJECT_ROOT, SIZED_FOLDERS, max_file_lines=MAX_FILE_LINES, max_function_lines=MAX_FUNCTION_LINES)
    assert not problems, report(problems)


# The checks themselves, on a small tree written here: each must catch what it is for, and name the line.

SMALL_TABLE = """# Architecture

## Import rules

| folder | may import | must not import |
|---|---|---|
| `app/` | `app`, `lib.light` | `heavy`, `tests` |
| `lib/` | `lib` | `app`, `tests` |
| `tests/` | `app`, `lib`, `tests` | `bench` |

## Sizes
"""


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def small_tree(tmp_path) -> Path:
    return write_tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/views.py": "import os\n\nfrom lib.light import f\n\n\ndef later():\n    import heavy.nn\n",
            "app/pages.py": "from . import views\nfrom lib import deep\n",
            "lib/__init__.py": "",
            "lib/light.py": "def f():\n    import heavy\n",
            "lib/deep.py": "from typing import TYPE_CHECKING\n\nimport heavy\n\nif TYPE_CHECKING:\n    import app\n",
            "tests/__init__.py": "",
            "tests/test_x.py": "import app.views\n",
        },
    )


def test_the_table_is_parsed_row_by_row():
    table = import_rules(SMALL_TABLE)
    assert table["app"] == Rule(folder="app", may=("app", "lib.light"), must_not=("heavy", "tests"))
    assert set(table) == {"app", "lib", "tests"}
    with pytest.raises(ValueError, match="Import rules"):
        import_rules("# Architecture\n\nno table here\n")


def test_a_function_level_import_of_a_forbidden_package_is_named_with_its_line(small_tree):
    problems = rule_violations(small_tree, import_rules(SMALL_TABLE), {"app", "lib", "tests"})
    assert "app/views.py:7: app/ imports heavy.nn (must not import heavy)" in problems


def test_a_project_import_outside_the_may_column_is_named(small_tree):
    problems = rule_violations(small_tree, import_rules(SMALL_TABLE), {"app", "lib", "tests"})
    assert "app/pages.py:2: app/ imports lib.deep (may import only app, lib.light)" in problems
    # lib/deep.py imports app only under TYPE_CHECKING: still an import statement, still against lib's row
    assert "lib/deep.py:6: lib/ imports app (must not import app)" in problems
    assert not any(p.startswith(("tests/", "app/views.py:3")) for p in problems), problems


def test_a_module_level_chain_to_a_forbidden_package_is_followed(small_tree):
    problems = third_party_reach_violations(small_tree, import_rules(SMALL_TABLE), {"app", "lib", "tests"})
    # app/pages.py -> lib.deep -> heavy at module level; app/views.py reaches heavy only inside functions
    assert problems == ["app/pages.py: importing it loads heavy (app/pages.py:2 imports lib.deep -> lib/deep.py:3 imports heavy)"], problems


def test_relative_imports_resolve_to_their_package(small_tree):
    found = [imp.module for imp in imports_of(small_tree, small_tree / "app" / "pages.py")]
    assert found == ["app.views", "lib.deep"]


def test_oversized_files_and_functions_are_named_with_their_line(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(70))
    write_tree(tmp_path, {"pkg/big.py": "\n" * 300 + f"def long_one():\n{body}\n", "pkg/migrations/0001_initial.py": "\n" * 400})
    problems = oversized(tmp_path, ["pkg"], max_file_lines=320, max_function_lines=65)
    assert problems == ["pkg/big.py:1: 371 lines (limit 320)", "pkg/big.py:301: function long_one is 71 lines (limit 65)"], problems
