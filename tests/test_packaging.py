"""The installable tagger: pins agree with the requirements files; the wheel, built for real and
installed into a fresh virtual environment outside the repository, answers as the repository does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from poster_genre import __version__
from tests.conftest import DATA_DIR, HAS_DATA, REPO, synthetic_poster

pytestmark = pytest.mark.venv

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def requirement_lines(path: Path) -> set[str]:
    """Requirement specifiers of a requirements file, without comments and -r includes."""
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("-r")}


def clean_env() -> dict[str, str]:
    """The environment without anything pointing back into the repository."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "POSTER_GENRE_MODEL", "VIRTUAL_ENV")}


def test_pins_agree_with_the_requirements_files():
    extras = PYPROJECT["optional-dependencies"]
    assert set(PYPROJECT["dependencies"]) | set(extras["app"]) == requirement_lines(REPO / "requirements.txt")
    assert set(extras["train"]) == requirement_lines(REPO / "requirements-train.txt")
    assert set(extras["ray"]) == requirement_lines(REPO / "requirements-ray.txt")
    assert extras["words"] == ["rapidocr==3.10.0"] and set(extras["words"]) <= set(extras["train"])
    assert not any(name.startswith(("tensorflow", "gradio")) for name in PYPROJECT["dependencies"])
    assert PYPROJECT["requires-python"] == ">=3.11"  # onnxruntime 1.32.0 has no wheel for 3.10
    assert PYPROJECT["scripts"]["poster-genre"] == "poster_genre.cli:main"


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], check=True,
                   capture_output=True, timeout=600)
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh virtual environment outside the repository with only the wheel installed."""
    folder = tmp_path_factory.mktemp("wheel-venv")
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, env=clean_env())
    wheel = next(dist.glob("*.whl"))
    subprocess.run([str(folder / "bin" / "pip"), "install", "-q", str(wheel)], check=True, env=clean_env(),
                   cwd=folder, capture_output=True, timeout=900)
    return folder


def test_wheel_and_sdist_hold_the_model(dist):
    wheel = next(dist.glob(f"poster_genre-{__version__}-py3-none-any.whl"))
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("poster_genre/model.onnx") == (REPO / "model.onnx").read_bytes()
        assert archive.read("poster_genre/model.text.onnx") == (REPO / "model.text.onnx").read_bytes()
        names = archive.namelist()
    assert not any(name.startswith(("train/", "export/", "tests/", "app.py")) for name in names)
    [licence] = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(licence) == (REPO / "LICENSE").read_bytes()
    print(f"wheel {wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB")
    sdist = next(dist.glob("*.tar.gz"))
    listing = subprocess.run(["tar", "tzf", str(sdist)], capture_output=True, text=True, check=True).stdout
    assert f"poster_genre-{__version__}/model.onnx" in listing and f"poster_genre-{__version__}/LICENSE" in listing


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> Path:
    """An empty working directory with a posters/ folder: real posters where the data is here."""
    work = tmp_path_factory.mktemp("work")
    posters = work / "posters"
    posters.mkdir()
    if HAS_DATA:
        for path in sorted((DATA_DIR / "posters").glob("*.jpg"))[:6]:
            shutil.copy(path, posters / path.name)
    else:
        for seed in range(4):
            synthetic_poster(seed, (300, 450)).save(posters / f"{seed}.png")
    (posters / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return work


def test_installed_cli_prints_the_repository_cli_records(venv, catalogue):
    # The bare wheel has no OCR engine (the [words] extra), so both answer from the posters alone.
    installed = subprocess.run([str(venv / "bin" / "poster-genre"), "classify", "posters/", "--format", "jsonl",
                                "--no-read-words"], cwd=catalogue, env=clean_env(), capture_output=True, text=True,
                               timeout=300)
    assert installed.returncode == 1, installed.stderr  # broken.jpg: its record says why
    repository = subprocess.run([sys.executable, "-m", "poster_genre", "classify", "posters/", "--format", "jsonl",
                                 "--no-read-words"],
                                cwd=catalogue, env={**clean_env(), "PYTHONPATH": str(REPO)},
                                capture_output=True, text=True, timeout=300)
    assert repository.returncode == 1, repository.stderr
    assert installed.stdout == repository.stdout
    assert len(installed.stdout.splitlines()) == len(list((catalogue / "posters").iterdir()))


def test_installed_package_uses_its_bundled_model_without_tensorflow_gradio_or_ray(venv, catalogue):
    code = ("import sys; from poster_genre import GenreClassifier; import poster_genre.cli; "
            "c = GenreClassifier(); p = 'posters/' + sorted(__import__('os').listdir('posters'))[0]; "
            "assert c.classify(p) != c.classify(p, titles=['Kill Zone'], years=[1993]); "
            "print(c.path); print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'tensorflow', 'keras', 'gradio', 'matplotlib', 'torch', 'ray', 'pyarrow'}))")
    result = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=catalogue, env=clean_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    model_path, heavy = result.stdout.splitlines()
    assert Path(model_path).is_relative_to(venv) and heavy == "[]"
    version = subprocess.run([str(venv / "bin" / "poster-genre", ), "--version"], capture_output=True, text=True,
                             env=clean_env(), cwd=catalogue)
    assert version.stdout.strip() == f"poster-genre {__version__}"
    missing = subprocess.run([str(venv / "bin" / "poster-genre"), "classify", "posters/", "--model", "nope.onnx"],
                             capture_output=True, text=True, env=clean_env(), cwd=catalogue)
    assert missing.returncode == 2 and "nope.onnx" in missing.stderr and "Traceback" not in missing.stderr
