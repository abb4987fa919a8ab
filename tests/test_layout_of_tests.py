"""The tests' own layout: shared helpers live in tests/support, nowhere else.

A test that imports a conftest or another test module runs that module's
fixtures and tests twice over, and a helper copied into a second folder drifts
from the first; so both are refused here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUPPORT = ROOT / "tests" / "support"
# Copied helpers that have drifted before: each is defined in tests/support only.
SHARED = ("free_port",)
# What pytest collects or loads itself: never imported.
TEST_MODULE = re.compile(r"conftest|test_\w*")


def python_files() -> list[Path]:
    return sorted(
        path
        for folder in ("tests", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def imports(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """Each import's module, with the modules it may name (`from a import b`: a.b)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found.append((node.module, [node.module, *names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, [alias.name]) for alias in node.names]
    return found


def layout_problems(path: Path, source: str) -> list[str]:
    """What in `source` (the file at `path`) breaks the layout, one line each."""
    where = path.relative_to(ROOT)
    own = where.parts[1] if where.parts[0] == "tests" else None
    problems = []
    tree = ast.parse(source, str(path))
    for module, named in imports(tree):
        parts = module.split(".")
        if parts[0] != "tests":
            continue
        named_tests = [m for m in named if TEST_MODULE.fullmatch(m.rsplit(".")[-1])]
        if named_tests:
            problems.append(f"{where} imports {named_tests[0]}: use tests/support")
        elif len(parts) > 2 and parts[1] not in ("support", own):
            problems.append(f"{where} imports {module}, another folder's helper")
    if SUPPORT not in path.parents:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.lstrip("_") in SHARED:
                problems.append(f"{where} defines {node.name}: use tests/support's")
    return problems


def test_no_test_imports_a_conftest_or_a_test_module_nor_copies_a_helper() -> None:
    problems = [
        problem
        for path in python_files()
        for problem in layout_problems(path, path.read_text(encoding="utf-8"))
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("from tests.api.conftest import server\n", "imports tests.api.conftest"),
        ("from tests.web.test_browser import shot\n", "imports tests.web.test_browser"),
        ("from tests.web import test_pages\n", "imports tests.web.test_pages"),
        ("import tests.cli.conftest\n", "imports tests.cli.conftest"),
        ("def free_port() -> int:\n    return 0\n", "defines free_port"),
        ("from tests.web.browserkit import shot\n", "another folder's helper"),
    ],
)
def test_the_layout_check_finds_each_kind_of_problem(source: str, problem: str) -> None:
    path = ROOT / "tests" / "cli" / "test_example.py"
    (found,) = layout_problems(path, source)
    assert problem in found


def test_the_layout_check_allows_support_and_a_folders_own_helpers() -> None:
    source = "from tests.support.ports import free_port\nfrom tests.cli import clikit\n"
    assert layout_problems(ROOT / "tests" / "cli" / "test_x.py", source) == []
    defined = "def free_port() -> int:\n    return 0\n"
    assert layout_problems(SUPPORT / "ports.py", defined) == []
