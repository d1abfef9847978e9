"""The code's shape, checked: layers only point down, no import circle, small modules and functions, each rule once.

Layers, top to bottom: scripts -> benchmarks -> export -> train -> poster_genre (app.py and poster_genre_ray sit on
poster_genre only). Imports are read from the source (function-level imports count), not by importing anything.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("poster_genre", "poster_genre_ray", "train", "export", "benchmarks", "scripts")
LAYER = {"poster_genre": 0, "poster_genre_ray": 1, "app": 1, "train": 1, "export": 2, "benchmarks": 3, "scripts": 4}
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50


def modules() -> dict[str, Path]:
    found = {"app": REPO / "app.py"}
    for package in PACKAGES:
        for path in sorted((REPO / package).glob("*.py")):
            found[f"{package}.{path.stem}".removesuffix(".__init__")] = path
    return found


MODULES = modules()


def imports(path: Path) -> set[str]:
    """The project modules `path` imports, anywhere in it."""
    named = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            named |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in named if name in MODULES and name != path.stem}


GRAPH = {name: imports(path) - {name} for name, path in MODULES.items()}


def top(name: str) -> str:
    return name.split(".")[0]


# The CLI's --ray hands the job to the optional Ray plugin (installed with the [ray] extra), imported only then.
PLUGIN = {"poster_genre.cli -> poster_genre_ray"}


def test_layers_only_point_down():
    upward = {f"{name} -> {other}" for name, targets in GRAPH.items() for other in targets
              if top(other) != top(name) and LAYER[top(other)] >= LAYER[top(name)]}
    assert upward == PLUGIN


def test_nothing_but_tests_imports_the_tests():
    importers = [name for name, path in MODULES.items() if re.search(r"^\s*(from|import) tests\b", path.read_text(), re.MULTILINE)]
    assert importers == []


def test_no_import_circle():
    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for other in GRAPH[node]:
                if other == start:
                    return path + [start]
                if other not in path:
                    stack.append((other, path + [other]))
        return None

    circles = {" -> ".join(cycle) for name in GRAPH if (cycle := cycle_from(name))}
    assert circles == set()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_and_functions_are_small(name):
    source = MODULES[name].read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES, f"{name} has {len(source.splitlines())} lines"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


# Each rule is written in poster_genre/rules.py and nowhere else (the patterns that would write it again).
RULES = {
    "logit": r"np\.log\(\s*\w+\s*/\s*\(\s*1\s*-\s*\w+\s*\)\s*\)|np\.log\(np\.clip\(\w+, 1e-7",
    "tag rule": r">=\s*limits\b|confidence >= thresholds|precision >= TAG_MIN_PRECISION",
    "prior shift": r"logit\(stated\w*\) - logit\(",
    "review rule": r"> limits\[\"flat_share_above\"\]",
    "fusion": r"\[:, 0\] \* logit\(",
    "serving rule": r"lift >= min_lift|>= config\.serve_min_lift",
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_is_written_once(rule):
    writers = [name for name, path in MODULES.items() if re.search(RULES[rule], path.read_text())]
    assert writers == ["poster_genre.rules"], f"{rule} is written in {writers}"


VERSION_NAME = re.compile(r"(?i)(^|_)v\d+(_|$)|version_?\d")  # v1, tmdb_v1, model_v3_path, VERSION_1_KIND
VERSION_VALUE = re.compile(r"(?i)^v\d+$|_v\d+$")  # "v2", "tmdb_v1": a branch on a retired model or its data


def identifiers_and_branches(tree: ast.AST) -> Iterator[str]:
    """Every name `tree` defines or uses, and every string a comparison (a branch) tests against."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, ast.arg):
            yield node.arg
        elif isinstance(node, ast.Attribute):
            yield node.attr
        elif isinstance(node, ast.Compare):
            yield from (f"branch on {c.value!r}" for c in ast.walk(node)
                        if isinstance(c, ast.Constant) and isinstance(c.value, str) and VERSION_VALUE.search(c.value))


def test_no_identifier_or_branch_names_a_version():
    named = {f"{name}: {found}" for name, path in MODULES.items() if top(name) in ("poster_genre", "train", "export")
             for found in identifiers_and_branches(ast.parse(path.read_text()))
             if found.startswith("branch on") or VERSION_NAME.search(found)}
    assert not named, sorted(named)
