"""A server that stays bounded: the files it writes leave with Gradio's cache age, the words engine is built once
however many first requests arrive together, and start-up faults say what to do."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from gradio_client import Client, handle_file

from tests.conftest import MODEL, AppServer, free_port, synthetic_poster
from tests.test_app import LABELS

CALLS = 500


def files_under(*folders) -> list:
    return [path for folder in folders for path in folder.rglob("*") if path.is_file()]


def test_500_explain_calls_leave_a_handful_of_files_a_minute_later(tmp_path, examples_dir):
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
    import subprocess
    import sys

    from tests.conftest import REPO

    result = subprocess.run([sys.executable, "-c", ENGINES_BUILT, str(MODEL), str(sample_poster)], cwd=REPO,
                            capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.split() == ["1"], result.stderr
