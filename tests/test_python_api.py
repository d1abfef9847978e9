"""`GenreClassifier.classify` is as strict as the CLI: what it takes, what it refuses, and one bad poster in a batch."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from poster_genre import (
    GenreClassifier,
    InvalidImageError,
    Refusal,
    Tagging,
    TextInputError,
)
from poster_genre.preprocess import UnsupportedInputError
from tests.conftest import MODEL, synthetic_poster


@pytest.fixture(scope="module")
def poster_path(sample_poster):
    return sample_poster


def confidences(result: Tagging) -> list[tuple[str, float]]:
    return [(p.label, round(p.confidence, 4)) for p in result.ranked]


def test_every_kind_of_poster_gives_the_same_answer(classifier, poster_path):
    data = poster_path.read_bytes()
    image = Image.open(poster_path)
    array = np.asarray(image.convert("RGB"))
    given = [str(poster_path), poster_path, data, bytearray(data), memoryview(data), io.BytesIO(data), image, array]
    results = classifier.classify(given)
    assert all(isinstance(result, Tagging) for result in results)
    assert all(confidences(result) == confidences(results[0]) for result in results)
    assert [confidences(r) for r in classifier.classify(p for p in given[:2])] == [confidences(results[0])] * 2  # generator
    assert confidences(classifier.classify(array)[0]) == confidences(results[0])  # one array: one poster


def test_a_4d_array_is_a_batch_and_grey_arrays_are_posters(classifier):
    arrays = np.stack([np.asarray(synthetic_poster(seed, (120, 180))) for seed in range(3)])
    batch = classifier.classify(arrays)
    assert len(batch) == 3
    assert [confidences(r) for r in batch] == [confidences(classifier.classify(a)[0]) for a in arrays]
    assert isinstance(classifier.classify(arrays[0, ..., 0])[0], Tagging)  # (H, W) grey levels


@pytest.mark.parametrize("source, message", [
    ({"path": "poster.jpg"}, "Cannot read a poster from a dict; give a path"),
    (42, "Cannot read a poster from a int"),
    (np.zeros((90, 60, 3), np.float32), "must hold uint8 values"),
    (np.zeros((90, 60, 5), np.uint8), "not of shape \\(90, 60, 5\\)"),
])
def test_what_cannot_hold_a_poster_is_refused_saying_what_can(classifier, source, message):
    with pytest.raises(InvalidImageError, match=message):
        classifier.classify([source])


def test_an_object_of_the_wrong_type_is_also_a_type_error(classifier):
    with pytest.raises(TypeError, match="dict"):
        classifier.classify([{}])
    assert issubclass(UnsupportedInputError, InvalidImageError)


def test_one_bad_poster_raises_naming_its_index_and_file(classifier, poster_path):
    with pytest.raises(InvalidImageError, match=r"Poster 2 \(nope\.jpg\): Cannot read the file"):
        classifier.classify([poster_path, poster_path, "nope.jpg", poster_path])


def test_or_comes_back_as_a_refusal_in_its_place(classifier, poster_path):
    results = classifier.classify([poster_path, b"not an image", "nope.jpg", poster_path], errors="record")
    assert [type(r) for r in results] == [Tagging, Refusal, Refusal, Tagging]
    assert results[1].reason.startswith("Poster 1 (bytes (12 bytes)): The file is not an image")
    assert "Poster 2 (nope.jpg)" in results[2].reason and results[2].error is InvalidImageError
    assert results[2].to_dict() == {"error": results[2].reason}  # as the CLI records a poster it could not tag
    assert confidences(results[0]) == confidences(results[3]) == confidences(classifier.classify(poster_path)[0])
    with pytest.raises(ValueError, match="errors must be 'raise' or 'record'"):
        classifier.classify(poster_path, errors="ignore")


@pytest.mark.parametrize("top_k", [0, -1, 2.5, "some", True, len(GenreClassifier(MODEL).labels) + 1])
def test_top_k_outside_one_to_the_genres_is_refused(classifier, poster_path, top_k):
    with pytest.raises(ValueError, match=f"top_k must be a whole number from 1 to {len(classifier.labels)}"):
        classifier.classify(poster_path, top_k=top_k)


def test_top_k_all_or_none_lists_every_genre(classifier, poster_path):
    for top_k in ("all", "ALL", None, len(classifier.labels)):
        assert len(classifier.classify(poster_path, top_k=top_k)[0].ranked) == len(classifier.labels)
    for two in (np.int64(2), 2.0, "2"):  # as the page, the API and the CLI take it: one reading of top_k
        assert len(classifier.classify(poster_path, top_k=two)[0].ranked) == 2


@pytest.mark.skipif(GenreClassifier(MODEL).text is None, reason="no model.text.onnx beside model.onnx")
def test_titles_must_be_one_per_poster_or_one_for_one_poster(classifier, poster_path):
    with pytest.raises(ValueError, match="titles must be a list with one entry per poster"):
        classifier.classify([poster_path], titles="Forrest Gump")
    with pytest.raises(ValueError, match="2 posters but 1 years"):
        classifier.classify([poster_path, poster_path], years=[1994])
    one = classifier.classify(poster_path, titles="Forrest Gump", years=1994)
    listed = classifier.classify([poster_path], titles=["Forrest Gump"], years=[1994])
    assert confidences(one[0]) == confidences(listed[0]) != confidences(classifier.classify(poster_path)[0])
    with pytest.raises(TextInputError, match=r"Poster 0 .*from 1880 to 2100"):
        classifier.classify(poster_path, years=1850)
