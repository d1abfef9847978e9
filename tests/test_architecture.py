"""The code's shape, checked: layers only point down, no import circle, small modules and functions, each rule once.

Layers, top to bottom: scripts -> benchmarks -> export -> train -> poster_genre (app.py and poster_genre_ray sit on
poster_genre only). Imports are read from the source (function-level imports count), not by importing anything.
"""

from __future__ import annotations

import ast
import re
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
    "int8 rule": r"difference\"\] > -|se_difference\"\] \*|\* \w+\[\"se_difference\"\]",
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_is_written_once(rule):
    writers = [name for name, path in MODULES.items() if re.search(RULES[rule], path.read_text())]
    assert writers == ["poster_genre.rules"], f"{rule} is written in {writers}"
