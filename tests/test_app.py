"""The real app in a subprocess, called with the real gradio_client."""

from __future__ import annotations

import psutil
import pytest
from gradio_client import handle_file

from poster_genre.labels import GENRES
from tests import bad_inputs
from tests.conftest import synthetic_poster


def predict(client, path, *args):
    return client.predict(handle_file(str(path)), *args, api_name="/predict")


def test_predict_returns_all_genres_summing_to_one(client, sample_poster):
    result = predict(client, sample_poster)
    assert set(result) == set(GENRES)
    assert abs(sum(result.values()) - 1) < 1e-3
    assert list(result.values()) == sorted(result.values(), reverse=True)


def test_top_k_limits_the_answer(client, sample_poster):
    full = predict(client, sample_poster)
    assert predict(client, sample_poster, 2) == dict(list(full.items())[:2])
    with pytest.raises(Exception, match="top_k"):
        predict(client, sample_poster, 9)


@pytest.mark.parametrize("maker", list(bad_inputs.MAKERS), ids=lambda m: m.__name__)
def test_awkward_input_through_the_api(maker, client, app_server, sample_poster, tmp_path):
    path = maker(tmp_path)
    if bad_inputs.MAKERS[maker] == "error":
        with pytest.raises(Exception) as error:
            predict(client, path)
        message = str(error.value)
        assert any(word in message for word in ("empty", "damaged", "not an image", "pixels")), message
    else:
        result = predict(client, path)
        assert set(result) == set(GENRES) and abs(sum(result.values()) - 1) < 1e-3
    assert app_server.alive()
    assert set(predict(client, sample_poster)) == set(GENRES)  # the next good request still succeeds


def test_exif_rotated_poster_is_classified_upright(client, sample_poster, tmp_path):
    from PIL import Image

    upright = Image.open(sample_poster).convert("RGB")
    rotated = predict(client, bad_inputs.exif_rotated_jpeg(tmp_path, upright))
    straight = predict(client, sample_poster)
    assert max(rotated, key=rotated.get) == max(straight, key=straight.get)
    assert all(abs(rotated[g] - straight[g]) < 0.05 for g in GENRES)


def test_memory_stays_bounded_over_200_requests(client, app_server, tmp_path):
    server = psutil.Process(app_server.process.pid)
    files = [maker(tmp_path / maker.__name__) for maker in bad_inputs.MAKERS
             if not (tmp_path / maker.__name__).mkdir()]
    good = tmp_path / "good.jpg"
    synthetic_poster(12, (500, 750)).save(good)
    files.append(good)

    def send(count: int) -> None:
        for index in range(count):
            try:
                predict(client, files[index % len(files)])
            except Exception:
                pass  # refused inputs are part of the mix

    send(40)  # warm-up: caches, arenas, lazy imports
    before = server.memory_info().rss
    send(160)
    growth_mb = (server.memory_info().rss - before) / 1e6
    print(f"server RSS {before / 1e6:.0f} MB after warm-up, growth over 160 more requests {growth_mb:.1f} MB")
    assert growth_mb < 100
    assert server.memory_info().rss < 600e6
