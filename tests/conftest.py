"""Shared fixtures: the shared poster data, generated images, and a real app server."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.appserver import CHROMIUM, FLAGS, AppServer, free_port
from benchmarks.words import with_words_model
from poster_genre import GenreClassifier
from poster_genre.rules import FIRST_GENRES
from train.data import data_dir_from_env, imdb_dir_from_env

REPO = Path(__file__).resolve().parents[1]

DATA_DIR = data_dir_from_env()
IMDB_DIR = imdb_dir_from_env()
HAS_DATA = (DATA_DIR / "labels.csv").exists()
HAS_IMDB = (IMDB_DIR / "labels.csv").exists()
needs_data = pytest.mark.skipif(not HAS_DATA, reason=f"shared poster data not found at {DATA_DIR} "
                                                     "(set POSTER_GENRE_DATA to its folder)")
needs_both = pytest.mark.skipif(not (HAS_DATA and HAS_IMDB),
                                reason=f"shared poster data not found at {DATA_DIR} and {IMDB_DIR} "
                                       "(set POSTER_GENRE_DATA and POSTER_GENRE_IMDB_DATA)")
MODEL = REPO / "model.onnx"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives Chromium (through the `browser` or a module's `page` fixture) is marked `browser`."""
    for item in items:
        if {"browser", "page"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def classifier() -> GenreClassifier:
    """The served model, loaded once for the tests that only read from it."""
    return GenreClassifier(MODEL, threads=2)


@dataclass(frozen=True)
class CliRun:
    """What one `poster-genre classify` run gave: its exit status and its standard output and error."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None) -> CliRun:
    """`poster-genre classify ARGS` from the repository: in this process (`cli.main`, output captured, `env` set
    meanwhile), or in a process of its own where that matters: `--ray` (a Ray driver per process) and an `env` that
    is read when Python starts or a module is imported (all but the model's path)."""
    if any(arg.startswith("--ray") for arg in args) or set(env or {}) - {"POSTER_GENRE_MODEL"}:
        done = subprocess.run([sys.executable, "-m", "poster_genre", "classify", *args], cwd=REPO, capture_output=True,
                              text=True, timeout=600, env={**os.environ, **(env or {})})
        return CliRun(done.returncode, done.stdout, done.stderr)
    from poster_genre import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(REPO), environment(env or {}), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            code = cli.main(["classify", *args])
        except SystemExit as leaving:  # argparse's usage errors, and the CLI's own one-line errors
            code = leaving.code if isinstance(leaving.code, int) else 1
            if isinstance(leaving.code, str):
                print(leaving.code, file=sys.stderr)
    return CliRun(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[dict[str, str]]:
    """One local Ray head (2 CPUs, the checkout on its workers' path), started once for the tests that only need a
    cluster to run `--ray` on; see `on_shared_ray`."""
    ray, port = Path(sys.executable).with_name("ray"), free_port()
    access = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}  # only these tests may join it
    subprocess.run([str(ray), "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                    "--disable-usage-stats"], check=True, capture_output=True, timeout=300,
                   env={**os.environ, **access, "PYTHONPATH": str(REPO)})
    yield {"RAY_ADDRESS": f"127.0.0.1:{port}", **access}
    subprocess.run([str(ray), "stop", "--force"], check=False, capture_output=True, timeout=300,
                   env={**os.environ, **access})


@pytest.fixture
def on_shared_ray(ray_cluster: dict[str, str]) -> Iterator[None]:
    """`--ray` joins the session's Ray (RAY_ADDRESS and its token, which `ray.init` reads) instead of starting and
    stopping a Ray of its own; the tests of a run's own Ray (killed, resumed) do not use this."""
    with environment(ray_cluster):
        yield


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """`values` set in os.environ for the duration, then as they were."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def words_off(page) -> None:
    """Untick "Read the words on the poster" where the served model reads them: the page answers from the poster
    and the title and year alone (tests of the title's path; the words' own are in test_words_path)."""
    box = page.locator("#read-words input")
    if box.count() and box.is_visible():
        box.uncheck()


def require_card(card, field: str) -> None:
    """Skip, saying why, where the served model's card predates `field` (written by version 4's training and
    export: `tag_status`, `review`, `members`)."""
    if not getattr(card, field):
        pytest.skip(f"the served model's card has no {field!r}: it was exported before version 4 (retrain and "
                    "export to get it)")


def synthetic_poster(seed: int, size: tuple[int, int] = (60, 90)) -> Image.Image:
    """A colourful 2:3 test image made here (never a real poster)."""
    rng = np.random.default_rng(seed)
    width, height = size
    base = rng.integers(0, 256, 3)
    pixels = np.clip(base + rng.normal(0, 40, (height, width, 3)), 0, 255).astype(np.uint8)
    pixels[: height // 3, :, seed % 3] = 255  # an upright cue: the top third differs
    return Image.fromarray(pixels)


def make_dataset(folder: Path, per_genre: int = 8) -> Path:
    """A tiny labelled poster folder in the schema of ../shared/data/labels.csv."""
    (folder / "posters").mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(per_genre * len(FIRST_GENRES)):
        genre = FIRST_GENRES[index % len(FIRST_GENRES)]
        synthetic_poster(index).save(folder / "posters" / f"{index}.jpg")
        rows.append([index, f"posters/{index}.jpg", genre, genre])
    with open(folder / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tmdb_id", "file", "genre", "genres"])
        writer.writerows(rows)
    return folder


def make_imdb_dataset(folder: Path, films: int = 30) -> Path:
    """A tiny folder in the schema of ../shared/data-imdb/labels.csv: multi-label, some films with
    no genre of the five, and the first few sharing a TMDB id with `make_dataset`'s posters."""
    (folder / "posters").mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(films):
        genres = "|".join(g for bit, g in enumerate(FIRST_GENRES) if (index + 1) >> bit & 1 and index % 7)
        synthetic_poster(100 + index, (182, 268)).save(folder / "posters" / f"tt{index}.jpg")
        rows.append([f"tt{index}", index if index < 6 else "", f"film {index}", 2000, f"posters/tt{index}.jpg",
                     genres, genres or "Horror", "test"])
    with open(folder / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["imdb_id", "tmdb_id", "title", "year", "file", "genres", "imdb_genres", "source"])
        writer.writerows(rows)
    return folder


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(scope="session")
def tiny_imdb(tmp_path_factory) -> Path:
    return make_imdb_dataset(tmp_path_factory.mktemp("tiny_imdb"))


@pytest.fixture(scope="session")
def sample_poster(tmp_path_factory) -> Path:
    """A real poster when the shared data is here, else a generated image."""
    if HAS_DATA:
        return min((DATA_DIR / "posters").glob("*.jpg"))
    path = tmp_path_factory.mktemp("sample") / "poster.jpg"
    synthetic_poster(1, (300, 450)).save(path)
    return path


@pytest.fixture(scope="session")
def horror_posters() -> list[Path]:
    """Version 2's IMDb validation films listed as Horror (in ../shared/data-imdb, so in CI too), when the
    served model has the genre; the first is the one it finds most Horror-like."""
    from poster_genre.analysis import file_probabilities
    from poster_genre.model import default_model
    from train.data import DEFAULT_IMDB_DIR, split_posters

    served = GenreClassifier(default_model())
    if "Horror" not in served.labels:
        pytest.skip("the served model has no Horror genre")
    if not (HAS_DATA and (DEFAULT_IMDB_DIR / "labels.csv").exists()):
        pytest.skip(f"shared poster data not found at {DATA_DIR} and {DEFAULT_IMDB_DIR}")
    val = split_posters(DATA_DIR, DEFAULT_IMDB_DIR)[2]
    posters = [p.path for p in val if "Horror" in p.imdb_genres]
    horror = file_probabilities(served, posters)[:, served.labels.index("Horror")]
    return [posters[i] for i in np.argsort(-horror, kind="stable")]


@pytest.fixture(scope="session")
def words_model(tmp_path_factory) -> Path:
    """A model that reads the words on a poster: the served one when it does, else `with_words_model`."""
    from poster_genre.model import default_model

    served = Path(default_model())
    return served if GenreClassifier(served).reads_words else with_words_model(tmp_path_factory.mktemp("words_model"))


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The committed example posters."""
    return REPO / "examples"


@pytest.fixture(scope="session")
def app_server(examples_dir) -> AppServer:
    server = AppServer(examples_dir, free_port())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(app_server):
    from gradio_client import Client

    return Client(app_server.url, verbose=False)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()
