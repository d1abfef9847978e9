"""Every fenced code block of README.md and docs/*.md is run or checked here, so the docs cannot drift from the code.

By the block's language:
- `pycon`: a Python session (`>>>` lines and their output), run as a doctest at the repository's root; outputs
  compared (`...` matches anything).
- `console`: `$ ` commands run in bash at the repository's root (`python` is this test's interpreter); the lines
  after each command are its expected stdout (`...` matches anything).
- `python`: run at the repository's root (against a real app server on a free port in place of 127.0.0.1:7860);
  it must finish without error; what it prints is illustrative.
- `bash`: illustrative (it installs, trains, deploys or reaches a cloud): checked without running it: bash parses it,
  every `python -m MODULE` names a module that exists, every `scripts/...` exists, and every `poster-genre` or
  `python -m poster_genre` command line is accepted by the CLI's argument parser.
- `json`: example records: every line is JSON whose fields are record fields.
- `text`: a diagram, not code: nothing to run.
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from poster_genre.cli import parser as cli_parser
from poster_genre.inputs import RECORD_FIELDS
from tests.conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
KINDS = ("pycon", "console", "python", "bash", "json", "text")
SERVED_AT = "http://127.0.0.1:7860/"
CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int
    kind: str
    code: str

    def __str__(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"


def blocks() -> list[Block]:
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for match in FENCE.finditer(text):
            found.append(Block(doc, text.count("\n", 0, match.start()) + 1, match.group(1), match.group(2)))
    return found


BLOCKS = blocks()


def of_kind(kind: str) -> list[Block]:
    return [block for block in BLOCKS if block.kind == kind]


def test_every_block_says_how_it_is_checked():
    assert [str(b) for b in BLOCKS if b.kind not in KINDS] == [], f"give each block one of {KINDS}"
    assert of_kind("pycon") and of_kind("console") and of_kind("python")  # the runner runs something


@pytest.mark.parametrize("block", of_kind("pycon"), ids=str)
def test_python_sessions_print_what_the_docs_say(block, monkeypatch):
    monkeypatch.chdir(REPO)
    test = doctest.DocTestParser().get_doctest(block.code, {}, str(block), str(block.doc), block.line)
    runner, report = doctest.DocTestRunner(optionflags=FLAGS), []
    runner.run(test, out=report.append)
    assert runner.failures == 0, f"{block}: the session's output differs:\n{''.join(report)}"


def console_steps(code: str) -> list[tuple[str, str]]:
    """(command, expected stdout) pairs of a console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return [(command, "\n".join(lines).strip() + "\n") for command, lines in steps]


@pytest.mark.parametrize("block", of_kind("console"), ids=str)
def test_console_commands_print_what_the_docs_say(block):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for command, expected in console_steps(block.code):
        result = subprocess.run(["bash", "-c", command], cwd=REPO, env=env, capture_output=True, text=True,
                                timeout=600)
        got = result.stdout.strip() + "\n"
        assert CHECKER.check_output(expected, got, FLAGS), f"{block}: `{command}` printed\n{got}\nnot\n{expected}"


@pytest.mark.parametrize("block", of_kind("python"), ids=str)
def test_python_examples_run(block, app_server):
    code = block.code.replace(SERVED_AT, app_server.url)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{block} failed:\n{result.stderr[-3000:]}"


def command_lines(code: str) -> list[list[str]]:
    """The block's command lines as words, comments dropped."""
    return [shlex.split(line, comments=True) for line in code.splitlines() if shlex.split(line, comments=True)]


def cli_arguments(words: list[str]) -> list[str] | None:
    """The arguments of a `poster-genre` or `python -m poster_genre` command line, else None."""
    if words[0] == "poster-genre":
        return words[1:]
    if len(words) > 2 and words[0].endswith("python") and words[1:3] == ["-m", "poster_genre"]:
        return words[3:]
    return None


@pytest.mark.parametrize("block", of_kind("bash"), ids=str)
def test_illustrative_commands_name_what_exists_and_options_the_cli_takes(block):
    assert subprocess.run(["bash", "-n"], input=block.code, text=True).returncode == 0, f"{block}: not bash"
    for words in command_lines(block.code):
        arguments = cli_arguments(words)
        if arguments is not None:
            cli_parser().parse_args(arguments)  # exits (a failed test) on an option the CLI does not take
        elif words[0].endswith("python") and words[1] == "-m":
            assert importlib.util.find_spec(words[2]) is not None, f"{block}: no module {words[2]}"
        elif words[0].startswith("scripts/"):
            assert (REPO / words[0]).is_file(), f"{block}: no {words[0]}"


def json_records(code: str) -> list[dict]:
    import json

    return [json.loads(line) for line in code.splitlines() if line.strip()]


@pytest.mark.parametrize("block", of_kind("json"), ids=str)
def test_example_records_have_record_fields(block):
    for record in json_records(block.code):
        unknown = set(record) - set(RECORD_FIELDS)
        assert not unknown - {"imdb_id", "id"}, f"{block}: {unknown} are not record fields"


def test_the_architecture_names_every_module():
    text = (REPO / "docs" / "architecture.md").read_text()
    modules = [path for package in ("poster_genre", "train", "export") for path in sorted((REPO / package).glob("*.py"))
               if path.name != "__init__.py"]
    assert [f"{p.parent.name}/{p.name}" for p in modules if f"`{p.name}`" not in text and f"{p.name}`" not in text] == []


def test_the_readme_is_one_screenful_of_pages():
    body = (REPO / "README.md").read_text().split("\n---\n", 1)[1]  # below the Space's YAML
    assert len(body.strip().splitlines()) <= 150
