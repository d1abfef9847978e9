"""The real app in a subprocess, called with the real gradio_client."""

from __future__ import annotations

import time

import numpy as np
import psutil
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from benchmarks.non_posters import non_posters
from poster_genre import GenreClassifier
from tests import bad_inputs
from tests.conftest import MODEL, AppServer, free_port, require_card, synthetic_poster


def predict(client, path, *args):
    return client.predict(handle_file(str(path)), *args, api_name="/predict")


def explain(client, path, genre):
    """The heatmap's path from /explain (which also names the genre and the poster's probability of it)."""
    return client.predict(handle_file(str(path)), genre, api_name="/explain")[0]


LABELS = GenreClassifier(MODEL).labels  # the served model's genres, from its card


def valid_probabilities(result: dict) -> bool:
    """Every genre of the model, each in 0..1 (they need not sum to 1)."""
    return set(result) == set(LABELS) and all(0 <= p <= 1 for p in result.values())


def test_predict_returns_all_genres(client, sample_poster):
    result = predict(client, sample_poster)
    assert valid_probabilities(result)
    assert list(result.values()) == sorted(result.values(), reverse=True)


def test_tags_are_the_genres_at_or_above_their_thresholds(client, sample_poster):
    """On the poster alone, so its card's thresholds apply (with the words, the text model's do)."""
    probabilities = client.predict(handle_file(str(sample_poster)), read_words=False, api_name="/predict")
    tags = client.predict(handle_file(str(sample_poster)), read_words=False, api_name="/tags")
    card = GenreClassifier(MODEL).card
    top = max(probabilities, key=probabilities.get)
    assert {item["label"]: item["confidence"] for item in tags["labels"]} == probabilities  # in the same order
    assert list(probabilities) == [item["label"] for item in tags["labels"]]
    assert all(item["threshold"] == card.thresholds[item["label"]] for item in tags["labels"])
    expected = [g for g, p in probabilities.items() if card.thresholds[g] is not None and p >= card.thresholds[g]]
    assert tags["genres"] == expected
    assert tags["needs_review"] is (probabilities[top] < 0.5) and ("review_reason" in tags) is tags["needs_review"]


def test_tags_flag_an_image_that_is_not_a_poster_and_still_answer(client, app_server, tmp_path):
    require_card(GenreClassifier().card, "review")  # the model the app serves
    placeholder = tmp_path / "placeholder.png"
    non_posters()["placeholder No Image Available"].save(placeholder)
    tags = client.predict(handle_file(str(placeholder)), api_name="/tags")
    assert tags["needs_review"] is True and "not like a film poster" in tags["review_reason"]
    assert len(tags["labels"]) == len(GenreClassifier(MODEL).labels)  # still classified


def test_explain_returns_an_overlay_that_depends_on_the_genre(client, sample_poster):
    poster = Image.open(sample_poster)
    probabilities = predict(client, sample_poster)
    ranked = list(probabilities)
    default = Image.open(explain(client, sample_poster, None))
    first = Image.open(explain(client, sample_poster, ranked[0]))
    last = Image.open(explain(client, sample_poster, ranked[-1]))
    assert default.size[0] / default.size[1] == pytest.approx(poster.size[0] / poster.size[1], abs=0.01)
    assert np.array_equal(np.asarray(default), np.asarray(first))  # the most likely genre by default
    assert np.abs(np.asarray(first, float) - np.asarray(last, float)).mean() > 1


def test_explain_names_the_genre_and_the_posters_own_probability(client, sample_poster):
    probabilities = predict(client, sample_poster, None, None, None, False)  # the poster's own: no words read
    least = min(probabilities, key=probabilities.get)
    _, genre, probability = client.predict(handle_file(str(sample_poster)), None, api_name="/explain")
    assert (genre, probability) == (next(iter(probabilities)), probabilities[genre])  # the most likely genre
    _, genre, probability = client.predict(handle_file(str(sample_poster)), least, api_name="/explain")
    assert (genre, probability) == (least, probabilities[least])


def test_an_svg_is_refused_saying_svg_is_not_supported(client, app_server, tmp_path):
    svg = tmp_path / "poster.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="300"><rect width="200" height="300"/></svg>')
    with pytest.raises(Exception, match="SVG \\(vector\\) images are not supported"):
        predict(client, svg)
    assert app_server.alive()


def test_a_busy_port_is_one_clear_line(examples_dir, app_server):
    import subprocess
    import sys

    from tests.conftest import REPO

    port = app_server.url.rsplit(":", 1)[1].strip("/")
    result = subprocess.run([sys.executable, "app.py", "--port", port], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr


def test_explain_refuses_unknown_genres_and_bad_files(client, app_server, sample_poster, tmp_path):
    with pytest.raises(Exception, match="Unknown genre 'Cartoon'"):
        explain(client, sample_poster, "Cartoon")
    for maker in (bad_inputs.empty_file, bad_inputs.text_as_jpeg, bad_inputs.decompression_bomb):
        with pytest.raises(Exception, match="empty|not an image|pixels"):
            explain(client, maker(tmp_path), None)
    assert app_server.alive()
    assert Image.open(explain(client, sample_poster, None)).size


def test_top_k_limits_the_answer(client, sample_poster):
    full = predict(client, sample_poster)
    assert predict(client, sample_poster, 2) == dict(list(full.items())[:2])
    assert predict(client, sample_poster, None) == full == predict(client, sample_poster, len(LABELS))
    assert len(full) == len(LABELS)
    assert predict(client, sample_poster, 2.0) == predict(client, sample_poster, 2)  # as classify and the CLI take it
    with pytest.raises(Exception, match=f"top_k must be a whole number from 1 to {len(LABELS)} .*not {len(LABELS) + 1}"):
        predict(client, sample_poster, len(LABELS) + 1)


@pytest.mark.parametrize("top_k", [True, 2.5, "two"])
def test_a_top_k_that_is_not_a_whole_number_is_refused_saying_what_to_send(client, app_server, sample_poster, top_k):
    with pytest.raises(Exception, match=f"top_k must be a whole number from 1 to {len(LABELS)}"):
        predict(client, sample_poster, top_k)
    assert app_server.alive()


@pytest.mark.parametrize("api_name", ["/predict", "/tags", "/explain"])
def test_a_plain_path_or_no_poster_is_refused_saying_how_to_send_one(client, sample_poster, api_name):
    with pytest.raises(Exception, match="plain string, not an uploaded file; send it as a file: .*handle_file"):
        client.predict(str(sample_poster), api_name=api_name)
    with pytest.raises(Exception, match="No poster was sent; send it as a file"):
        client.predict(None, api_name=api_name)


def test_explain_names_only_the_genres_it_accepts(client, sample_poster):
    with pytest.raises(Exception, match=f"choose one of {', '.join(LABELS)}, or leave it empty"):
        explain(client, sample_poster, "Cartoon")


@pytest.mark.parametrize("maker", list(bad_inputs.MAKERS), ids=lambda m: m.__name__)
def test_awkward_input_through_the_api(maker, client, app_server, sample_poster, tmp_path):
    path = maker(tmp_path)
    if bad_inputs.MAKERS[maker] == "error":
        with pytest.raises(Exception) as error:
            predict(client, path)
        message = str(error.value)
        assert any(word in message for word in ("empty", "damaged", "not an image", "pixels")), message
    else:
        assert valid_probabilities(predict(client, path))
    assert app_server.alive()
    assert set(predict(client, sample_poster)) == set(LABELS)  # the next good request still succeeds


def test_exif_rotated_poster_is_classified_upright(client, sample_poster, tmp_path):
    from PIL import Image

    upright = Image.open(sample_poster).convert("RGB")
    rotated = predict(client, bad_inputs.exif_rotated_jpeg(tmp_path, upright))
    straight = predict(client, sample_poster)
    assert max(rotated, key=rotated.get) == max(straight, key=straight.get)
    assert all(abs(rotated[g] - straight[g]) < 0.05 for g in LABELS)


@pytest.mark.load
def test_memory_stays_bounded_over_80_requests(examples_dir, tmp_path):
    """A server of its own, so what other tests sent does not count: every bad input refused, every poster answered."""
    cases = [(maker(tmp_path / maker.__name__), outcome) for maker, outcome in bad_inputs.MAKERS.items()
             if not (tmp_path / maker.__name__).mkdir()]
    good = tmp_path / "good.jpg"
    synthetic_poster(12, (500, 750)).save(good)
    cases.append((good, "ok"))
    app = AppServer(examples_dir, free_port())
    try:
        client, server = Client(app.url, verbose=False), psutil.Process(app.process.pid)

        def send(count: int) -> None:
            for index in range(count):
                path, outcome = cases[index % len(cases)]
                if outcome == "error":
                    with pytest.raises(AppError):
                        predict(client, path)
                else:
                    assert valid_probabilities(predict(client, path))

        send(20)  # warm-up: caches, arenas, lazy imports
        before = server.memory_info().rss
        send(60)
        growth_mb = (server.memory_info().rss - before) / 1e6
        print(f"server RSS {before / 1e6:.0f} MB after warm-up, growth over 60 more requests {growth_mb:.1f} MB")
        assert growth_mb < 100
        assert server.memory_info().rss < 800e6  # the model, Gradio, and the OCR engine's two onnxruntime sessions
    finally:
        app.stop()


@pytest.mark.slow
def test_uploads_are_removed_from_the_cache_after_their_age(tmp_path, examples_dir):
    cache = tmp_path / "gradio-cache"
    server = AppServer(examples_dir, free_port(), "--cache-age", "2", env={"GRADIO_TEMP_DIR": str(cache)})
    try:
        client = Client(server.url, verbose=False)
        poster = tmp_path / "upload-me.png"
        synthetic_poster(21, (300, 450)).save(poster)
        assert valid_probabilities(predict(client, poster))
        cached = [p for p in cache.rglob("upload-me.png")]
        assert cached, "the upload was not cached where expected"
        deadline = time.time() + 30
        while any(p.exists() for p in cached) and time.time() < deadline:
            time.sleep(0.5)
        assert not any(p.exists() for p in cached), "the upload outlived its cache age"
        assert valid_probabilities(predict(client, poster))  # and the server keeps answering
    finally:
        server.stop()
