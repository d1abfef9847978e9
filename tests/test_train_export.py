"""Real TensorFlow training and tf2onnx export, end to end, on a handful of generated images.

The model is trained on both schemas and the exported model is then served by the real CLI and the real app.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import onnx
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from poster_genre import GenreClassifier, __version__
from poster_genre.analysis import analyse, model_input
from poster_genre.card import MULTI_LABEL
from poster_genre.model import MAPS_OUTPUT
from poster_genre.rules import FIRST_GENRES
from poster_genre.text import MODES, TextInput
from tests.conftest import REPO, AppServer, free_port
from train.backbones import BACKBONES, HEAD_LAYER, POOL_LAYER

pytestmark = pytest.mark.training

SIZE = ["64", "48"]


@pytest.fixture(scope="module")
def trained(tiny_dataset, tiny_imdb, tmp_path_factory):
    """The one training command (weights=None, tiny input): words, training, export, checks and install, for real."""
    from export.ship import main as ship

    out = tmp_path_factory.mktemp("run") / "made"  # not there yet: the command makes every folder it writes to
    served = tmp_path_factory.mktemp("served")
    words = words_cache(tiny_imdb, tmp_path_factory.mktemp("words") / "words.jsonl")
    report, difference = ship(["--out", str(out), "--install", "--install-to", str(served), "--parity-count", "8",
                               "--data-dir", str(tiny_dataset), "--weights", "none", "--imdb-dir", str(tiny_imdb),
                               "--input-size", *SIZE, "--views", "3", "--members", "2", "--head-epochs", "3",
                               "--finetune-epochs", "2", "--cache-dir", str(out.parent / "cache"),
                               "--min-candidate-films", "1", "--words-cache", str(words)])
    return MULTI_LABEL, out, report, difference, served


def words_cache(imdb: Path, cache: Path) -> Path:
    """A words cache in `python -m train.read_words`'s format for the tiny IMDb films, as if their posters carried
    their genres' names and a star's (the generated posters carry no text; reading real text is tested in
    test_words), for the current engine."""
    pytest.importorskip("rapidocr", reason="RapidOCR is not installed (pip install -r requirements-train.txt)")
    from poster_genre.words import engine_name
    from train.read_words import sha256

    with open(imdb / "labels.csv", newline="") as handle, open(cache, "w") as out:
        for row in csv.DictReader(handle):
            path = imdb / row["file"]
            said = [*(g.upper() for g in row["genres"].split("|") if g), f"STAR {int(row['imdb_id'][2:]) % 3}"]
            words = [{"text": text, "box": [[0, 0], [9, 0], [9, 9], [0, 9]], "confidence": 0.9} for text in said]
            out.write(json.dumps({"file": str(path.resolve()), "sha256": sha256(path.read_bytes()), "engine": engine_name(),
                                  "words": words}) + "\n")
    return cache


def test_training_writes_model_report_and_plots(trained):
    kind, out, _, _, _ = trained
    assert (out / "model.keras").exists()
    for name in ("metrics.json", "training_curves.png", "average_precision.png", "calibration.png",
                 "selective_accuracy.png", "confusion_matrix.png"):
        assert (out / "reports" / name).stat().st_size > 0
    written = json.loads((out / "reports" / "metrics.json").read_text())
    assert written["kind"] == kind
    assert written["data"]["train"] + written["data"]["val"] == 70
    assert written["data"]["train_counts"]["by_source"].get("imdb", 0) > 0
    for name in ("validation", "probe", "baseline"):
        assert {"all", "tmdb", "tmdb_collected"} <= written[name].keys()
        assert set(written[name]["all"]["average_precision"]) == set(FIRST_GENRES)
    assert "imdb" in written["validation"]
    assert len(written["validation"]["tmdb_collected"]["selective"]) > 1
    assert set(written["thresholds"]) == set(FIRST_GENRES)
    saved = np.load(out / "val_probabilities.npz")  # for benchmarks/noise.py's paired comparisons
    assert saved["model"].shape == saved["probe"].shape == (written["data"]["val"], len(FIRST_GENRES))
    assert len(saved["files"]) == written["data"]["val"]


def test_onnx_matches_keras_and_carries_the_card(trained, tiny_dataset):
    kind, out, report, difference, _ = trained
    assert difference < 1e-4  # probabilities and activation maps
    model = onnx.load(str(out / "model.onnx"))
    graph_input = model.graph.input[0].type.tensor_type
    dims = [d.dim_value or d.dim_param for d in graph_input.shape.dim]
    assert isinstance(dims[0], str) and dims[1:] == [64, 48, 3]  # dynamic batch, NHWC
    assert [o.name for o in model.graph.output][1] == MAPS_OUTPUT
    classifier = GenreClassifier(out / "model.onnx")
    card = classifier.card
    assert classifier.labels == FIRST_GENRES and classifier.input_size == (64, 48)
    assert card.kind == kind and card.version == __version__ and card.data["val"] == report["data"]["val"]
    assert card.thresholds == report["thresholds"]  # round trip through the ONNX metadata
    assert card.metrics["tmdb_collected"]["accuracy"] == report["validation"]["tmdb_collected"]["accuracy"]
    keras_model = keras.models.load_model(out / "model.keras")
    batch = model_input(classifier, sorted((tiny_dataset / "posters").glob("*.jpg"))[:5])
    probs = classifier.probabilities(batch)
    assert np.abs(probs - keras_model.predict(batch, verbose=0)).max() < 1e-4


def test_the_same_command_makes_the_title_and_year_model(trained, tiny_dataset):
    _, out, report, _, _ = trained
    classifier = GenreClassifier(out / "model.onnx")
    text = report["text"]
    assert text["model"]["training_films"] > 0 and set(text["fusion"]) == set(MODES)
    assert text["words_model"]["training_films_with_words"] > 0 and classifier.reads_words
    assert set(text["thresholds"]["title+year"]) == set(report["labels"])
    assert (out / "reports" / "title_and_year.png").stat().st_size > 0
    assert classifier.text is not None and classifier.text.labels == classifier.labels
    poster = min((tiny_dataset / "posters").glob("*.jpg"))
    [alone], [titled] = classifier.classify(poster), classifier.classify(poster, titles=["film 3"], years=[2000])
    assert [p.confidence for p in alone.ranked] != [p.confidence for p in titled.ranked]
    assert classifier.card.text["model"]["buckets"] == 2 ** 18
    worded = analyse(classifier, poster, TextInput().with_words(["HORROR", "STAR 1"]))
    assert worded.text.inputs == ["poster", "words"] and not np.allclose(worded.probabilities,
                                                                         worded.poster_probabilities)


def test_two_members_are_one_graph_with_one_pooled_head(trained):
    """`--members 2`: every member's top on the one frozen bottom, joined before one pooled head (its logits the mean
    of the members'), and the card names each member against the ensemble."""
    _, out, _, _, _ = trained
    members = GenreClassifier(out / "model.onnx").card.members
    assert [m["seed"] for m in members] == [42, 43] and [m["views"] for m in members] == [[0, 1, 2], [1, 2, 3]]
    for member in members:
        versus = member["ensemble_versus_member"]["imdb_mAP"]
        assert versus["ours"] == pytest.approx(versus["theirs"] + versus["difference"], abs=2e-4)
    graph = onnx.load(str(out / "model.onnx")).graph
    [pool] = [n for n in graph.node if n.op_type == "GlobalAveragePool"]
    joined = next(n for n in graph.node if pool.input[0] in n.output)
    assert joined.op_type == "Concat" and len(joined.input) == 2


def test_activation_maps_average_to_the_logits(trained, tiny_dataset):
    _, out, _, _, _ = trained
    keras_model = keras.models.load_model(out / "model.keras")
    weights, bias = keras_model.get_layer(HEAD_LAYER).get_weights()
    classifier = GenreClassifier(out / "model.onnx")
    batch = model_input(classifier, sorted((tiny_dataset / "posters").glob("*.jpg"))[:6])
    pooled = keras.Model(keras_model.input, keras_model.get_layer(POOL_LAYER).output).predict(batch, verbose=0)
    logits = pooled @ weights + bias
    _, maps = classifier.probabilities_and_maps(batch)
    assert maps.shape[1:3] == (2, 2) and maps.shape[3] == len(FIRST_GENRES)  # 64x48 input, stride 32
    assert np.abs(maps.mean(axis=(1, 2)) + bias - logits).max() < 1e-4


def test_cli_serves_the_model(trained, tiny_dataset, tmp_path):
    _, out, _, _, _ = trained
    posters = sorted((tiny_dataset / "posters").glob("*.jpg"))[:4]
    result = subprocess.run([sys.executable, "-m", "poster_genre", "classify", *map(str, posters), "--model",
                             str(out / "model.onnx"), "--top-k", "5", "--explain", str(tmp_path / "heat")],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    classifier = GenreClassifier(out / "model.onnx")
    for record in map(json.loads, result.stdout.splitlines()):
        confidences = {item["label"]: item["confidence"] for item in record["labels"]}
        thresholds = classifier.card.thresholds
        assert record["genres"] == [g for g, p in confidences.items() if thresholds[g] is not None and p >= thresholds[g]]
        assert Image.open(record["explanation"]).size == Image.open(record["file"]).size


def test_app_serves_the_model(trained, tiny_dataset):
    _, out, _, _, _ = trained
    server = AppServer(REPO / "examples", free_port(), "--model", str(out / "model.onnx"),
                       "--reports", str(out / "reports"))
    try:
        client = Client(server.url, verbose=False)
        path = min((tiny_dataset / "posters").glob("*.jpg"))
        poster = handle_file(str(path))
        probabilities = client.predict(poster, api_name="/predict")
        assert set(probabilities) == set(FIRST_GENRES)
        tags = client.predict(poster, api_name="/tags")
        assert tags["labels"][0]["label"] == max(probabilities, key=probabilities.get)
        thresholds = GenreClassifier(out / "model.onnx").card.thresholds
        expected = [g for g, p in probabilities.items() if thresholds[g] is not None and p >= thresholds[g]]
        assert tags["genres"] == expected
        assert Image.open(client.predict(poster, None, api_name="/explain")[0]).size == Image.open(path).size
    finally:
        server.stop()


def test_efficientnet_b4_builds_without_download_and_loads_a_weights_file(tmp_path):
    backbone = BACKBONES["efficientnet_b4"]
    model = backbone.create(weights=None, input_size=(96, 64))
    path = tmp_path / "b4.weights.h5"
    model.save_weights(path)
    reloaded = backbone.create(weights=path, input_size=(96, 64))
    x = np.random.default_rng(0).uniform(0, 255, (1, 96, 64, 3)).astype(np.float32)
    assert np.allclose(model.predict_on_batch(x), reloaded.predict_on_batch(x), atol=1e-5)
    bottom, top = backbone.split(model, top_blocks=2)
    assert top.layers[-1].name == model.layers[-1].name
    assert np.allclose(top.predict_on_batch(bottom.predict_on_batch(x)), model.predict_on_batch(x), atol=1e-4)


def test_the_command_installs_what_it_made_and_checked(trained):
    _, out, _, _, served = trained
    for name in ("model.onnx", "model.text.onnx", "reports/metrics.json", "reports/training_curves.png"):
        assert (served / name).read_bytes() == (out / name).read_bytes(), name
    assert GenreClassifier(served / "model.onnx").reads_words


def test_words_only_refits_what_reads_the_words_and_keeps_the_image_model(trained, tiny_dataset, tiny_imdb,
                                                                          tmp_path):
    from onnx import numpy_helper

    from export.ship import main as ship

    _, out, report, _, installed = trained
    served = tmp_path / "served"
    shutil.copytree(installed, served)
    words = tmp_path / "words.jsonl"  # the words read anew: other stars' names
    lines = [json.loads(line) for line in words_cache(tiny_imdb, words).read_text().splitlines()]
    for line in lines:
        line["words"][-1]["text"] = line["words"][-1]["text"].replace("STAR", "ACTOR")
    words.write_text("".join(json.dumps(line) + "\n" for line in lines))
    made = tmp_path / "made"
    new, _ = ship(["--words-only", "--out", str(made), "--install", "--install-to", str(served), "--data-dir",
                   str(tiny_dataset), "--weights", "none", "--imdb-dir", str(tiny_imdb), "--input-size", *SIZE,
                   "--views", "3", "--cache-dir", str(out.parent / "cache"), "--min-candidate-films", "1",
                   "--words-cache", str(words)])

    def weights(path):
        return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}

    before, after = weights(installed / "model.onnx"), weights(served / "model.onnx")
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    assert (served / "model.text.onnx").read_bytes() != (installed / "model.text.onnx").read_bytes()
    assert new["text"]["words_model"]["C_scores"] != report["text"]["words_model"]["C_scores"]
    assert {k: v for k, v in new.items() if k != "text"} == \
        json.loads(json.dumps({k: v for k, v in report.items() if k != "text"}))  # as read back from metrics.json
    classifier = GenreClassifier(served / "model.onnx")
    assert classifier.reads_words and \
        classifier.card.text["words_model"] == json.loads(json.dumps(new["text"]["words_model"]))


def test_the_command_refuses_to_make_a_model_without_words_unless_asked(tiny_dataset, tiny_imdb, tmp_path):
    from export.ship import main as ship

    out = tmp_path / "made"
    with pytest.raises(SystemExit, match="--words-cache none.*say --without-words"):
        ship(["--out", str(out), "--data-dir", str(tiny_dataset), "--imdb-dir", str(tiny_imdb), "--words-cache", "none"])
    blank = {name: tmp_path / name for name in ("tmdb", "imdb")}
    for (name, folder), given in zip(blank.items(), (tiny_dataset, tiny_imdb)):
        shutil.copytree(given, folder)
        for poster in (folder / "posters").glob("*.jpg"):  # posters with nothing printed on them
            Image.new("RGB", (48, 64), (90, 90, 90)).save(poster)
    with pytest.raises(SystemExit, match="no words were read on any training poster"):
        ship(["--out", str(out), "--data-dir", str(blank["tmdb"]), "--imdb-dir", str(blank["imdb"]),
              "--words-cache", str(tmp_path / "posters.words.jsonl")])
    assert not out.exists()  # nothing trained
