"""The words on a poster, read by the real OCR engine (RapidOCR's bundled PP-OCR models on onnxruntime), offline,
and `python -m train.read_words`'s resumable cache."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import REPO, make_dataset, make_imdb_dataset

pytest.importorskip("rapidocr", reason="RapidOCR is not installed (pip install -r requirements-train.txt)")


def lettered(path, lines: list[str]) -> str:
    """A dark 2:3 poster with big lettering, drawn here."""
    image = Image.new("RGB", (300, 450), (20, 20, 40))
    draw = ImageDraw.Draw(image)
    for row, text in enumerate(lines):
        draw.text((20, 60 + 80 * row), text, font=ImageFont.load_default(size=52), fill=(240, 230, 200))
    image.save(path)
    return str(path)


def test_the_words_printed_on_a_poster_are_read(tmp_path):
    from poster_genre.words import MAX_LENGTH, read_words

    words = read_words(Image.open(lettered(tmp_path / "p.png", ["ZOMBIE", "STRIPPERS"])))
    assert {w.text.upper() for w in words} == {"ZOMBIE", "STRIPPERS"}
    assert all(0.5 <= w.confidence <= 1 and len(w.box) == 4 and len(w.text) <= MAX_LENGTH for w in words)
    assert read_words(Image.new("RGB", (300, 450), (128, 128, 128))) == []  # no text: no words


def test_idle_threads_sleep_in_the_engine_and_the_image_model(tmp_path):
    from poster_genre import GenreClassifier
    from poster_genre.words import SERVED, _engine, read_words

    read_words(Image.open(lettered(tmp_path / "p.png", ["NIGHT"])))  # RapidOCR loads its models on a first read
    engine = _engine(1, SERVED.detection_floor)
    sessions = [engine.text_det.session.session, engine.text_rec.session.session, GenreClassifier().session]
    assert [s.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") for s in sessions] \
        == ["0", "0", "0"]


def test_the_tallest_lines_are_read_and_the_small_print_is_left():
    from benchmarks.hard_images import dense_small_print
    from poster_genre.words import SERVED, read_words

    words = read_words(dense_small_print())
    assert "NIGHTFALL" in {w.text.upper() for w in words} and len(words) <= SERVED.max_lines


@pytest.mark.parametrize("make", ["text_screenshot", "dense_small_print", "noise_image"])
def test_whatever_the_image_a_bounded_length_of_lines_is_recognised(make):
    from benchmarks import hard_images
    from poster_genre.words import SERVED, _bgr, _engine, chosen_lines, detected_lines, line_shape, reading_copy

    read = reading_copy(getattr(hard_images, make)())
    found = detected_lines(_engine(1, SERVED.detection_floor), read, _bgr(read), SERVED.detection_side)
    chosen = chosen_lines(found, SERVED)
    assert len(chosen) <= SERVED.max_lines and sum(heights for _, heights in chosen) <= SERVED.total_heights
    assert all(heights <= SERVED.line_heights for _, heights in chosen)
    if make == "text_screenshot":  # a document: many lines found, the budget spent on the first ones chosen
        assert len(found) > 20 and sum(heights for _, heights in chosen) == SERVED.total_heights
        kept = {id(box) for box, _ in chosen}
        assert min(line_shape(b)[0] for b in found if id(b) in kept) >= \
            max(line_shape(b)[0] for b in found if id(b) not in kept) - 1e-6  # the tallest


def test_a_read_past_its_deadline_stops_saying_so(tmp_path):
    from poster_genre.words import read_words

    with pytest.raises(TimeoutError, match="reading took longer than"):
        read_words(Image.open(lettered(tmp_path / "p.png", ["NIGHT"])), deadline=time.monotonic() - 1)


def test_reads_left_behind_stop_and_free_the_readers_for_the_next_poster(tmp_path, monkeypatch):
    from benchmarks.hard_images import text_screenshot
    from poster_genre import words

    poster = Image.open(lettered(tmp_path / "p.png", ["NIGHT"]))
    words.read_words(poster)  # the engine is loaded
    monkeypatch.setattr(words, "READ_SECONDS", 0.05)
    left = [words.read_words_later(text_screenshot()) for _ in range(2 * words.READERS)]
    for pending in left:
        with pytest.raises(TimeoutError, match="reading took longer than"):
            words.words_read(pending)
    monkeypatch.setattr(words, "READ_SECONDS", 60.0)
    assert [w.text.upper() for w in words.words_read(words.read_words_later(poster))] == ["NIGHT"]
    for pending in left:  # each stopped at its deadline rather than reading its 34 lines
        with pytest.raises(TimeoutError):
            pending.reading.result(timeout=60)


def test_text_in_a_script_the_reader_does_not_know_is_said_to_be_unread_not_absent(tmp_path):
    font_file = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
    if not font_file.exists():
        pytest.skip("no font with Cyrillic letters here (Debian's fonts-dejavu-core)")
    from poster_genre.words import UnreadTextError, read_words

    image = Image.new("RGB", (300, 450), (20, 20, 40))
    draw = ImageDraw.Draw(image)
    for row, text in enumerate(["ЖИЗНЬ", "ДЕНЬГИ"]):
        draw.text((20, 60 + 80 * row), text, font=ImageFont.truetype(str(font_file), 44), fill=(240, 230, 200))
    with pytest.raises(UnreadTextError, match="text was found on it .2 lines. but none of it could be read"):
        read_words(image)


@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare (util-linux) is not installed")
def test_the_engine_reads_with_the_network_unreachable(tmp_path):
    poster = lettered(tmp_path / "p.png", ["HORROR"])
    code = ("import socket, sys; from PIL import Image; from poster_genre.words import read_words\n"
            "try:\n    socket.create_connection(('1.1.1.1', 443), timeout=2); sys.exit('the network is reachable')\n"
            "except OSError:\n    pass\n"
            f"print([w.text for w in read_words(Image.open({poster!r}))])")
    result = subprocess.run(["unshare", "-rn", sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    if "unshare failed" in result.stderr or "Operation not permitted" in result.stderr:
        pytest.skip(f"cannot make a network namespace here: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "HORROR" in result.stdout.upper()


def test_the_poster_only_path_never_imports_the_engine():
    code = ("import sys, app, poster_genre.cli; from poster_genre import GenreClassifier; "
            "GenreClassifier().classify('examples/comedy_818.jpg', read_words=False); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rapidocr' or m == 'poster_genre.words'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_reading_every_poster_is_resumable_and_rereads_what_changed(tmp_path):
    from train.read_words import main

    data, imdb = make_dataset(tmp_path / "data", per_genre=2), make_imdb_dataset(tmp_path / "imdb", films=6)
    lettered(imdb / "posters" / "tt1.jpg", ["NIGHT", "TERROR"])  # one poster with words on it
    cache, args = tmp_path / "words.jsonl", ["--data-dir", str(data), "--imdb-dir", str(imdb), "--workers", "2"]
    assert main([*args, "--cache", str(cache)]) == 0
    lines = [json.loads(line) for line in cache.read_text().splitlines()]
    assert len(lines) == 16 and len({line["file"] for line in lines}) == 16  # every poster, once
    titled = next(line for line in lines if line["file"].endswith("tt1.jpg"))
    assert {w["text"].upper() for w in titled["words"]} == {"NIGHT", "TERROR"}
    assert (tmp_path / "words.log").read_text().count("16 to read") == 1

    main([*args, "--cache", str(cache)])  # nothing new: nothing read
    assert len(cache.read_text().splitlines()) == 16
    lettered(imdb / "posters" / "tt2.jpg", ["DRAMA"])  # a poster whose file changed is read again
    stale = {**lines[0], "engine": "rapidocr 0.0.1"}  # as is one read by another engine
    cache.write_text("\n".join(json.dumps(line) for line in [stale, *lines[1:]]) + "\n{\"cut short")
    main([*args, "--cache", str(cache)])
    assert "2 to read" in (tmp_path / "words.log").read_text()


def test_the_words_cache_is_kept_by_the_posters_files_however_their_folder_is_named(tmp_path, monkeypatch):
    from train.read_words import main

    data, imdb = make_dataset(tmp_path / "data", per_genre=2), make_imdb_dataset(tmp_path / "imdb", films=6)
    cache = tmp_path / "words.jsonl"
    assert main(["--data-dir", str(data), "--imdb-dir", str(imdb), "--workers", "1", "--cache", str(cache)]) == 0
    monkeypatch.chdir(tmp_path / "imdb")  # the same folders named from elsewhere: nothing is read again
    main(["--data-dir", "../data", "--imdb-dir", "../imdb", "--workers", "1", "--cache", str(cache)])
    assert len(cache.read_text().splitlines()) == 16
    assert (tmp_path / "words.log").read_text().count(", 0 to read") == 1
