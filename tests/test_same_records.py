"""Restructuring changes no answer: the CLI of the main branch before version 1 was retired and training was cut
by job (commit REFERENCE, taken from this repository's history) and today's CLI write the same records for the
same posters: real posters of both shared folders, a catalogue CSV with titles and years, and broken files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA_DIR, HAS_DATA, IMDB_DIR, REPO, synthetic_poster

REFERENCE = "a3f3a3cb52d147e71471ef138e81193e796b58f6"  # main before the restructuring


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The reference commit's files, extracted from git."""
    folder = tmp_path_factory.mktemp("reference")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", REFERENCE], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"commit {REFERENCE[:8]} is not in this clone's history (a shallow clone?)")
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


@pytest.fixture(scope="module")
def posters(tmp_path_factory) -> list[str]:
    """Real posters where the shared data is here (else generated ones), a catalogue CSV and broken files."""
    folder = tmp_path_factory.mktemp("posters")
    found = sorted((DATA_DIR / "posters").glob("*.jpg"))[:30] if HAS_DATA else []
    found += sorted((IMDB_DIR / "posters").glob("*.jpg"))[:30] if (IMDB_DIR / "posters").is_dir() else []
    if not found:
        for seed in range(12):
            synthetic_poster(seed, (300, 450)).save(folder / f"{seed}.png")
        found = sorted(folder.glob("*.png"))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    rows = [f"{found[0]},Zombie Strippers,2008", f"{found[1]},,1994", f"{found[2]},Batman,", f"{found[3]},Old,1850"]
    (folder / "films.csv").write_text("file,title,year\n" + "\n".join(rows) + "\n")
    return [*map(str, found), str(folder / "broken.jpg"), str(folder / "films.csv")]


def records(cwd: Path, posters: list[str], *options: str) -> str:
    env = {**os.environ, "PYTHONPATH": "", "POSTER_GENRE_MODEL": ""}
    result = subprocess.run([sys.executable, "-m", "poster_genre", "classify", *posters, *options], cwd=cwd,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr[-2000:]  # the broken file and the year 1850
    return result.stdout


@pytest.mark.parametrize("model", ["model.int8.onnx", "model.onnx"])
def test_the_records_are_the_reference_commits(reference, posters, model):
    options = ("--top-k", "all", "--min-confidence", "0.6", "--model", model)
    ours, theirs = records(REPO, posters, *options), records(reference, posters, *options)
    assert ours.splitlines() and ours == theirs
