"""The shared preprocessing function on good, awkward and broken images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from poster_genre.preprocess import InvalidImageError, load_image, preprocess
from tests import bad_inputs
from tests.conftest import synthetic_poster

SIZE = (96, 64)


@pytest.mark.parametrize("maker", list(bad_inputs.MAKERS), ids=lambda m: m.__name__)
def test_awkward_inputs_are_classified_or_refused_clearly(maker, tmp_path):
    path = maker(tmp_path)
    if bad_inputs.MAKERS[maker] == "error":
        with pytest.raises(InvalidImageError) as error:
            preprocess(path, SIZE)
        assert len(str(error.value)) > 20
    else:
        array = preprocess(path, SIZE)
        assert array.shape == (*SIZE, 3) and array.dtype == np.float32
        assert 0 <= array.min() and array.max() <= 255


def test_transparency_is_composited_on_white(tmp_path):
    assert preprocess(bad_inputs.rgba_png(tmp_path), SIZE).min() == 255


def test_animated_gif_uses_the_first_frame(tmp_path):
    mean = preprocess(bad_inputs.animated_gif(tmp_path), SIZE).mean(axis=(0, 1))
    assert mean[0] > 200 and mean[1] < 50 and mean[2] < 50


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    array = preprocess(bad_inputs.sixteen_bit_png(tmp_path), SIZE)
    assert array.min() < 10 and array.max() > 245


def test_exif_rotation_is_applied(tmp_path):
    upright = synthetic_poster(6, (200, 300))
    rotated = preprocess(bad_inputs.exif_rotated_jpeg(tmp_path, upright), SIZE)
    expected = preprocess(upright, SIZE)
    assert np.abs(rotated - expected).mean() < 8  # JPEG noise only, not a rotated picture


def test_sources_agree_path_bytes_and_pil(tmp_path):
    path = tmp_path / "p.png"
    synthetic_poster(7, (120, 180)).save(path)
    from_path = preprocess(path, SIZE)
    assert np.array_equal(from_path, preprocess(path.read_bytes(), SIZE))
    assert np.array_equal(from_path, preprocess(Image.open(path), SIZE))
    assert np.array_equal(from_path, preprocess(str(path), SIZE))


def test_two_by_three_poster_is_not_cropped_for_two_by_three_input():
    poster = Image.new("RGB", (200, 300), (0, 0, 0))
    poster.paste((255, 255, 255), (0, 0, 200, 10))  # a title band at the very top
    assert preprocess(poster, (96, 64))[0].mean() > 200


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidImageError, match="Cannot read"):
        load_image(tmp_path / "nope.jpg")
