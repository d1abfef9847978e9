"""A server that stays bounded: the files it writes leave with Gradio's cache age, the words engine is built once
however many first requests arrive together, and start-up faults say what to do."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client, handle_file

from poster_genre import GenreClassifier
from tests.conftest import MODEL, REPO, AppServer, free_port, run_cli, synthetic_poster
from tests.test_app import LABELS

CALLS = 200


def files_under(*folders) -> list:
    return [path for folder in folders for path in folder.rglob("*") if path.is_file()]


@pytest.mark.load
def test_200_explain_calls_leave_a_handful_of_files_a_minute_later(tmp_path, examples_dir):
    cache, scratch = tmp_path / "gradio-cache", tmp_path / "tmp"
    scratch.mkdir()
    server = AppServer(examples_dir, free_port(), "--cache-age", "5",
                       env={"GRADIO_TEMP_DIR": str(cache), "TMPDIR": str(scratch)})
    try:
        page_files = set(files_under(cache, scratch))  # the examples and report plots the page shows, kept for good
        posters = []
        for seed in range(CALLS // len(LABELS) + 1):
            posters.append(tmp_path / f"poster-{seed}.png")
            synthetic_poster(seed, (120, 180)).save(posters[-1])
        calls = [(posters[i // len(LABELS)], LABELS[i % len(LABELS)]) for i in range(CALLS)]

        def caller(share: list) -> int:
            client = Client(server.url, verbose=False)
            return sum(client.predict(handle_file(str(p)), genre, api_name="/explain")[1] == genre
                       for p, genre in share)

        with ThreadPoolExecutor(4) as pool:
            answered = sum(pool.map(caller, [calls[i::4] for i in range(4)]))
        assert answered == CALLS
        written = len(files_under(cache, scratch))

        def left() -> list:
            return [path for path in files_under(cache, scratch) if path not in page_files]

        deadline = time.monotonic() + 60
        while len(left()) > 5 and time.monotonic() < deadline:
            time.sleep(1)
        assert len(left()) <= 5, f"{len(left())} of {written} files left a minute later: {left()[:5]}"
        assert server.alive()
    finally:
        server.stop()


ENGINES_BUILT = """
import sys, threading
import rapidocr
from poster_genre import GenreClassifier
from poster_genre.analysis import analyse

built = []
build = rapidocr.RapidOCR.__init__
rapidocr.RapidOCR.__init__ = lambda self, *a, **k: (built.append(1), build(self, *a, **k))[1]
classifier = GenreClassifier(sys.argv[1], threads=1)
together = threading.Barrier(8)

def first_request():
    together.wait()
    assert analyse(classifier, sys.argv[2], read_words=True).words is not None

threads = [threading.Thread(target=first_request) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print(len(built))
"""


def test_the_words_engine_is_built_once_for_eight_first_requests_at_once(sample_poster):
    result = subprocess.run([sys.executable, "-c", ENGINES_BUILT, str(MODEL), str(sample_poster)], cwd=REPO,
                            capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.split() == ["1"], result.stderr


def one_model_folder(tmp_path, model_bytes: bytes | None):
    """A folder holding model.onnx alone (the served one's bytes, or none): no model.text.onnx beside it."""
    folder = tmp_path / "models"
    folder.mkdir()
    if model_bytes is not None:
        (folder / "model.onnx").write_bytes(model_bytes)
    return folder / "model.onnx"


@pytest.mark.parametrize("fault", ["missing", "corrupt"])
def test_a_missing_or_corrupt_model_is_one_line_naming_it_and_a_failed_start(fault, tmp_path, sample_poster):
    model = one_model_folder(tmp_path, None if fault == "missing" else b"not an onnx model at all" * 40)
    app = subprocess.run([sys.executable, "app.py", "--model", str(model), "--port", str(free_port())], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    cli = run_cli(str(sample_poster), "--model", str(model))
    for result, status in ((app, 1), (cli, 2)):
        assert result.returncode == status and "Traceback" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and str(model) in lines[0] and "error" in lines[0], result.stderr
        assert ("No model file" if fault == "missing" else "Cannot load the model") in lines[0]


def page_text(server: AppServer) -> str:
    """Every text the page's components show, from the page's own config."""
    import httpx

    config = httpx.get(server.url + "config", timeout=30).json()
    return " ".join(str(c.get("props", {}).get("value", "")) for c in config["components"])


def test_without_the_text_model_the_server_answers_from_the_poster_saying_why(tmp_path, examples_dir, sample_poster):
    model = one_model_folder(tmp_path, MODEL.read_bytes())
    server = AppServer(examples_dir, free_port(), "--model", str(model))
    try:
        client = Client(server.url, verbose=False)
        tags = client.predict(handle_file(str(sample_poster)), api_name="/tags")
        assert tags["inputs"] == ["poster"] and "words" not in tags
        assert "model.text.onnx" in tags["words_note"]
        assert "Not available on this server" in page_text(server) and "model.text.onnx" in page_text(server)
    finally:
        server.stop()


def test_without_the_ocr_engine_the_server_answers_without_the_words_saying_why(tmp_path, examples_dir, sample_poster):
    if not GenreClassifier(MODEL).reads_words:
        pytest.skip("the served model reads no words")
    hide = tmp_path / "no-ocr"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['rapidocr'] = None  # as if not installed\n")
    server = AppServer(examples_dir, free_port(), env={"PYTHONPATH": str(hide)})
    try:
        client = Client(server.url, verbose=False)
        tags = client.predict(handle_file(str(sample_poster)), "Kill Zone", 1993, api_name="/tags")
        assert tags["inputs"] == ["poster", "title", "year"] and "words" not in tags
        assert "OCR engine is not installed" in tags["words_note"]
        assert "the words on the poster, since the OCR engine is not installed" in page_text(server)
    finally:
        server.stop()


def test_the_cli_without_the_ocr_engine_says_once_that_the_words_are_not_read(tmp_path, sample_poster):
    if not GenreClassifier(MODEL).reads_words:
        pytest.skip("the served model reads no words")
    hide = tmp_path / "no-ocr"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['rapidocr'] = None  # as if not installed\n")
    result = run_cli(str(sample_poster), str(sample_poster), env={"PYTHONPATH": str(hide)})
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("the words on the posters are not read: the OCR engine is not installed") == 1
    assert all("words" not in json.loads(line)["inputs"] for line in result.stdout.splitlines())


LARGE_IMAGES = """
import sys, threading
import numpy as np, psutil
from PIL import Image
from poster_genre import GenreClassifier
from poster_genre.analysis import analyse

height, width = 7500, 5000  # 37.5 megapixels, within the decoder's cap; a smooth PNG well within the upload cap
rows, columns = np.linspace(0, 255, height)[:, None], np.linspace(0, 255, width)[None, :]
pixels = np.stack(np.broadcast_arrays(rows, columns, (rows + columns) / 2), -1).astype(np.uint8)
Image.fromarray(pixels).save(sys.argv[3])
del pixels, rows, columns
classifier = GenreClassifier(sys.argv[1], threads=2)
words = classifier.words_wanted()
for _ in range(3):
    analyse(classifier, sys.argv[2], read_words=words)
resting = psutil.Process().memory_info().rss

def large():
    for _ in range(3):
        assert analyse(classifier, sys.argv[3], read_words=words).words_note is None

threads = [threading.Thread(target=large) for _ in range(2)]
[t.start() for t in threads]
[t.join() for t in threads]
for _ in range(3):
    analyse(classifier, sys.argv[2], read_words=words)
print(resting, psutil.Process().memory_info().rss)
"""


@pytest.mark.slow
def test_memory_returns_near_its_resting_size_after_large_images(sample_poster, tmp_path):
    result = subprocess.run([sys.executable, "-c", LARGE_IMAGES, str(MODEL), str(sample_poster),
                             str(tmp_path / "large.png")], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    resting, after = map(int, result.stdout.split())
    assert after - resting < 150e6, f"{resting / 1e6:.0f} MB resting, {after / 1e6:.0f} MB after six large images"


def test_an_image_too_elongated_to_read_is_answered_without_words_saying_why(tmp_path):
    from poster_genre.analysis import analyse

    classifier = GenreClassifier(MODEL, threads=2)
    if not classifier.words_wanted():
        pytest.skip("the served model reads no words here")
    banner = tmp_path / "banner.png"
    synthetic_poster(3, (2000, 100)).save(banner)
    analysis = analyse(classifier, banner, read_words=True)
    assert analysis.words is None and "20 times as long as it is wide" in analysis.words_note
    assert "words" not in analysis.text.inputs
