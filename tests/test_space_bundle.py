"""The Space as deployed: exactly the files of scripts/space_files.txt, in an empty folder, with the
serving requirements only (no train/, export/, tests/, no ../shared), called through gradio_client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from poster_genre import GenreClassifier
from tests.conftest import MODEL, REPO, AppServer, free_port, synthetic_poster

pytestmark = pytest.mark.venv

LISTED = [line for line in (REPO / "scripts" / "space_files.txt").read_text().splitlines()
          if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> tuple[Path, Path]:
    """(the staged Space folder, a fresh venv with requirements.txt only)."""
    folder = tmp_path_factory.mktemp("space")
    subprocess.run([str(REPO / "scripts" / "space.sh"), "stage", str(folder)], check=True)
    venv = tmp_path_factory.mktemp("space-venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-r", str(folder / "requirements.txt")],
                   check=True, env=env, capture_output=True, timeout=1200)
    return folder, venv


def test_bundle_is_exactly_the_listed_files(bundle):
    folder, _ = bundle
    assert sorted(p.name for p in folder.iterdir()) == sorted(LISTED)
    assert len(list((folder / "examples").glob("*.jpg"))) == len(list((REPO / "examples").glob("*.jpg")))


def test_bundle_serves_predict_and_explain_with_examples(bundle, tmp_path):
    folder, venv = bundle
    env = {"POSTER_GENRE_MODEL": "", "POSTER_GENRE_DATA": str(tmp_path / "no-shared-data"), "PYTHONPATH": ""}
    server = AppServer(folder / "examples", free_port(), python=str(venv / "bin" / "python"), cwd=folder, env=env)
    try:
        client = Client(server.url, verbose=False)
        poster = tmp_path / "poster.png"
        synthetic_poster(4, (300, 450)).save(poster)
        assert set(client.predict(handle_file(str(poster)), api_name="/predict")) == set(GenreClassifier(MODEL).labels)
        overlay = Image.open(client.predict(handle_file(str(poster)), None, api_name="/explain")[0])
        assert overlay.size == (300, 450)
        config = httpx.get(server.url + "config", timeout=10).text
        assert "Example posters" in config
        modules = subprocess.run([str(venv / "bin" / "python"), "-c", "import tensorflow"], capture_output=True)
        assert modules.returncode != 0  # the Space's environment has no TensorFlow
    finally:
        server.stop()
