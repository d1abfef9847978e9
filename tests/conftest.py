"""Shared fixtures: the shared poster data, generated images, and a real app server."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from poster_genre.labels import GENRES  # noqa: E402
from train.data import data_dir_from_env  # noqa: E402

DATA_DIR = data_dir_from_env()
HAS_DATA = (DATA_DIR / "labels.csv").exists()
needs_data = pytest.mark.skipif(not HAS_DATA, reason=f"shared poster data not found at {DATA_DIR} "
                                                     "(set POSTER_GENRE_DATA to its folder)")
MODEL = REPO / "model.onnx"


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
    for index in range(per_genre * len(GENRES)):
        genre = GENRES[index % len(GENRES)]
        synthetic_poster(index).save(folder / "posters" / f"{index}.jpg")
        rows.append([index, f"posters/{index}.jpg", genre, genre])
    with open(folder / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tmdb_id", "file", "genre", "genres"])
        writer.writerows(rows)
    return folder


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(scope="session")
def sample_poster(tmp_path_factory) -> Path:
    """A real poster when the shared data is here, else a generated image."""
    if HAS_DATA:
        return sorted((DATA_DIR / "posters").glob("*.jpg"))[0]
    path = tmp_path_factory.mktemp("sample") / "poster.jpg"
    synthetic_poster(1, (300, 450)).save(path)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """`python app.py` in a subprocess on 127.0.0.1, the way the README starts it."""

    def __init__(self, examples: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/"
        env = {**os.environ, "POSTER_GENRE_THREADS": "2"}
        self.process = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port), "--examples", str(examples)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 120) -> None:
        import httpx

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app.py exited:\n{self.process.stdout.read()}")
            try:
                if httpx.get(self.url + "gradio_api/info", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError("app.py did not start in time")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def examples_dir(tmp_path_factory) -> Path:
    """Example posters filled from the shared data (empty folder when it is absent)."""
    folder = tmp_path_factory.mktemp("examples")
    if HAS_DATA:
        from train.examples import fill_examples

        fill_examples(DATA_DIR, folder)
    return folder


@pytest.fixture(scope="session")
def app_server(examples_dir) -> AppServer:
    server = AppServer(examples_dir, free_port())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(app_server):
    from gradio_client import Client

    return Client(app_server.url, verbose=False)
