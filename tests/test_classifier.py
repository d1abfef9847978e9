"""The ONNX classifier of the core package, on the committed model.onnx."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from poster_genre import GenreClassifier
from poster_genre.labels import GENRES
from tests.conftest import DATA_DIR, MODEL, REPO, needs_data
from train.data import read_posters, split


@pytest.fixture(scope="module")
def classifier() -> GenreClassifier:
    return GenreClassifier(MODEL, threads=2)


def test_card_comes_from_the_onnx_metadata(classifier):
    card = classifier.card
    assert card.labels == GENRES
    assert classifier.session.get_inputs()[0].shape[1:] == [*card.input_size, 3]
    assert card.backbone in ("efficientnet_lite2", "efficientnet_b4")
    assert card.version and card.resize_policy
    assert card.data["train"] > 0 and card.data["val"] > 0
    assert {"accuracy", "macro_f1", "top2_accuracy", "per_genre", "selective"} <= card.metrics.keys()


def test_prediction_is_a_ranked_distribution(classifier, sample_poster):
    ranked = classifier.predict(sample_poster)
    assert [p.label for p in ranked] != [] and sorted(p.label for p in ranked) == sorted(GENRES)
    confidences = [p.confidence for p in ranked]
    assert confidences == sorted(confidences, reverse=True)
    assert abs(sum(confidences) - 1) < 1e-4
    assert classifier.predict(sample_poster, top_k=2) == ranked[:2]


def test_batch_matches_single(classifier, sample_poster, tmp_path):
    from tests.conftest import synthetic_poster

    other = tmp_path / "other.png"
    synthetic_poster(9, (300, 450)).save(other)
    batch = classifier.predict_batch([sample_poster, other])
    for got, expected in zip(batch, [classifier.predict(sample_poster), classifier.predict(other)]):
        assert [p.label for p in got] == [p.label for p in expected]
        assert np.allclose([p.confidence for p in got], [p.confidence for p in expected], atol=1e-5)


def test_serving_path_never_imports_tensorflow():
    code = ("import sys, app, poster_genre.cli; from poster_genre import GenreClassifier; "
            "GenreClassifier(); print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'tf2onnx', 'torch')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@needs_data
def test_committed_model_meets_the_bar_on_held_out_posters(classifier):
    card = classifier.card
    _, val = split(read_posters(DATA_DIR), card.data["val_fraction"], card.data["seed"])
    assert len(val) == card.data["val"]
    probs = np.concatenate([classifier.probabilities(classifier.prepare(p.path for p in val[i:i + 32]))
                            for i in range(0, len(val), 32)])
    y = np.array([p.label for p in val])
    from train.evaluate import metrics

    measured = metrics(y, probs, GENRES)
    assert measured["accuracy"] >= 0.45 and measured["macro_f1"] >= 0.43
    assert abs(measured["accuracy"] - card.metrics["accuracy"]) < 0.011  # the card tells the truth
    assert abs(measured["macro_f1"] - card.metrics["macro_f1"]) < 0.011
