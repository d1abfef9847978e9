"""Real TensorFlow training and tf2onnx export, end to end, on a handful of generated images."""

from __future__ import annotations

import json

import keras
import numpy as np
import onnx
import pytest

from poster_genre import GenreClassifier
from poster_genre.labels import GENRES
from train.backbones import BACKBONES

SIZE = ["64", "48"]


@pytest.fixture(scope="module")
def trained(tiny_dataset, tmp_path_factory):
    """Train (weights=None, tiny input) and export: the whole pipeline, for real."""
    from export.to_onnx import export
    from train.train import main as train_main

    out = tmp_path_factory.mktemp("run")
    report = train_main(["--data-dir", str(tiny_dataset), "--weights", "none", "--input-size", *SIZE,
                         "--views", "3", "--head-epochs", "3", "--finetune-epochs", "2",
                         "--out", str(out), "--reports-dir", str(out / "reports"),
                         "--cache-dir", str(out / "cache")])
    difference = export(out / "model.keras", out / "reports" / "metrics.json", out / "model.onnx",
                        tiny_dataset, version="test", parity_count=8)
    return out, report, difference


def test_training_writes_model_report_and_plots(trained):
    out, report, _ = trained
    assert (out / "model.keras").exists()
    for name in ("metrics.json", "confusion_matrix.png", "training_curves.png", "selective_accuracy.png"):
        assert (out / "reports" / name).stat().st_size > 0
    written = json.loads((out / "reports" / "metrics.json").read_text())
    assert written["data"]["train"] + written["data"]["val"] == 40
    assert set(written["validation"]["per_genre"]) == set(GENRES)
    assert {"probe", "history", "validation"} <= written.keys()
    assert len(written["validation"]["selective"]) > 1


def test_onnx_matches_keras_and_carries_the_card(trained, tiny_dataset):
    out, report, difference = trained
    assert difference < 1e-4
    model = onnx.load(str(out / "model.onnx"))
    graph_input = model.graph.input[0].type.tensor_type
    dims = [d.dim_value or d.dim_param for d in graph_input.shape.dim]
    assert isinstance(dims[0], str) and dims[1:] == [64, 48, 3]  # dynamic batch, NHWC
    classifier = GenreClassifier(out / "model.onnx")
    assert classifier.labels == GENRES and classifier.input_size == (64, 48)
    assert classifier.card.version == "test" and classifier.card.data["val"] == report["data"]["val"]
    keras_model = keras.models.load_model(out / "model.keras")
    batch = classifier.prepare(sorted((tiny_dataset / "posters").glob("*.jpg"))[:5])
    assert np.abs(classifier.probabilities(batch) - keras_model.predict(batch, verbose=0)).max() < 1e-4


def test_efficientnet_b4_builds_without_download_and_loads_a_weights_file(tmp_path):
    backbone = BACKBONES["efficientnet_b4"]
    model = backbone.create(weights=None, input_size=(96, 64))
    path = tmp_path / "b4.weights.h5"
    model.save_weights(path)
    reloaded = backbone.create(weights=path, input_size=(96, 64))
    x = np.random.default_rng(0).uniform(0, 255, (1, 96, 64, 3)).astype(np.float32)
    assert np.allclose(model.predict(x, verbose=0), reloaded.predict(x, verbose=0), atol=1e-5)
    bottom, top = backbone.split(model, top_blocks=2)
    assert top.layers[-1].name == model.layers[-1].name
    assert np.allclose(top.predict(bottom.predict(x, verbose=0), verbose=0), model.predict(x, verbose=0), atol=1e-4)
