"""Speed and size figures, each printed as a ratio against a baseline measured in the same run.

    python -m benchmarks.run [--data-dir ../shared/data] [--only latency versions explain cold_start memory cli ray title]

Timed comparisons run their candidates in alternating blocks (`median_seconds`), medians of 30 runs.

Figures 1-7 run the fp32 model.onnx (the model Keras and the previous version are compared with).

1. latency: onnxruntime vs Keras per image on the same model, batch 1 and 8. Two Keras baselines:
   `model.predict` (Keras's documented inference call) and `model.predict_on_batch` (its leanest
   compiled call, without predict's per-call data pipeline).
   Keras runs artifacts/<backbone>/model.keras when training left it there, else the same
   architecture built with random weights (the same computation).
2. versions: the served model against the previous one (--previous, default artifacts/model_v2.onnx,
   e.g. `git show bf50b54:model.onnx > artifacts/model_v2.onnx`), per image at batch 1, and the served
   model with its activation-map output against the same model with that output removed.
3. explain: a heatmap (model run with the maps, plus rendering) against a plain prediction, both
   from the poster file, in process. Also the page's work per upload (one model run for the
   probabilities, tags and heatmap) against a prediction and a separate explanation (two runs).
4. cold_start: `python app.py` to its first answered request, against importing TensorFlow and
   loading the Keras model (what a TensorFlow-serving app would pay before its first answer).
5. memory: resident memory of the serving process after 50 requests, against a bare Python that
   imports gradio (the floor of any Gradio app).
6. cli: CLI images/second on the shared posters, against one onnxruntime call per image (both fp32).
7. ray: `classify --ray` on a local Ray against the local CLI, same 1,000 posters and cores; Ray's start-up.
8. title: a request with a title and year against a poster-only one (the served model, from the file).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.appserver import AppServer, free_port
from export.timing import median_seconds
from poster_genre import GenreClassifier
from poster_genre.analysis import analyse, model_input
from poster_genre.explain import explain, heat
from poster_genre.model import MAPS_OUTPUT, default_model
from poster_genre.text import TextInput
from train.data import data_dir_from_env, read_tmdb, tmdb_split

REPO = Path(__file__).resolve().parents[1]

MODEL = REPO / "model.onnx"
PREVIOUS = REPO / "artifacts" / "model_v2.onnx"  # version 1's single-label models are no longer served


def keras_model(card):
    import keras

    trained = REPO / "artifacts" / card.backbone / "model.keras"
    if trained.exists():
        return keras.models.load_model(trained), str(trained.relative_to(REPO))
    from train.backbones import BACKBONES

    network = BACKBONES[card.backbone].create(weights=None, input_size=card.input_size)
    head = keras.layers.Dense(len(card.labels), activation="sigmoid")
    pooled = keras.layers.GlobalAveragePooling2D()(network.output)
    return keras.Model(network.input, head(pooled)), "same architecture, random weights"


def latency(posters: list[Path]) -> dict:
    classifier = GenreClassifier(MODEL)
    model, source = keras_model(classifier.card)
    batch8 = model_input(classifier, posters[:8])
    rows = {"keras_model": source}
    for size in (1, 8):
        batch = batch8[:size]
        seconds = median_seconds({"onnxruntime": lambda batch=batch: classifier.probabilities(batch),
                                  "predict": lambda batch=batch: model.predict(batch, verbose=0),
                                  "predict_on_batch": lambda batch=batch: model.predict_on_batch(batch)})
        ort_s = seconds["onnxruntime"]
        row = {"onnxruntime_ms_per_image": round(1000 * ort_s / size, 1)}
        for name in ("predict", "predict_on_batch"):
            row[f"keras_{name}_ms_per_image"] = round(1000 * seconds[name] / size, 1)
            row[f"speedup_vs_{name}"] = round(seconds[name] / ort_s, 2)
        rows[f"batch{size}"] = row
    return rows


def without_maps(model: Path, target: Path) -> Path:
    """A copy of `model` whose activation-map output is removed (the graph prunes its two nodes)."""
    import onnx

    proto = onnx.load(str(model))
    kept = [o for o in proto.graph.output if o.name != MAPS_OUTPUT]
    del proto.graph.output[:]
    proto.graph.output.extend(kept)
    dropped = {MAPS_OUTPUT, f"{MAPS_OUTPUT}/features_nhwc"}
    nodes = [n for n in proto.graph.node if not set(n.output) & dropped]
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    onnx.save(proto, str(target))
    return target


def versions(posters: list[Path], previous: Path) -> dict:
    """Per-image latency at batch 1: the served model against the previous one and against itself
    without the activation-map output."""
    import tempfile

    served = GenreClassifier(MODEL)
    batch = model_input(served, posters[:1])
    runs = {"served": lambda: served.probabilities(batch)}
    with tempfile.TemporaryDirectory() as tmp:
        plain = GenreClassifier(without_maps(MODEL, Path(tmp) / "plain.onnx"))
        runs["plain"] = lambda: plain.probabilities(batch)
        if previous.exists():
            old = GenreClassifier(previous)
            runs["previous"] = lambda: old.probabilities(batch)
        seconds = median_seconds(runs, repeats=50)
    rows = {"served_ms": round(1000 * seconds["served"], 2),
            "baseline_same_model_without_maps_output_ms": round(1000 * seconds["plain"], 2),
            "ratio_vs_without_maps": round(seconds["served"] / seconds["plain"], 3)}
    if not previous.exists():
        return {**rows, "previous": f"skipped: no {previous}"}
    return {**rows, "baseline_previous_model": previous.name,
            "baseline_previous_ms": round(1000 * seconds["previous"], 2),
            "ratio_vs_previous": round(seconds["served"] / seconds["previous"], 3)}


def explanation(posters: list[Path]) -> dict:
    """A heatmap against a plain prediction, each from the poster file (decode included)."""
    classifier = GenreClassifier(MODEL)
    poster = posters[0]
    seconds = median_seconds({
        "predict": lambda: classifier.classify(poster),
        "explain": lambda: explain(classifier, poster),
        "page": lambda: heat(classifier, analyse(classifier, poster)),
        "predict_then_explain": lambda: (classifier.classify(poster), explain(classifier, poster))})
    return {"baseline_predict_ms": round(1000 * seconds["predict"], 1),
            "explain_ms": round(1000 * seconds["explain"], 1),
            "ratio": round(seconds["explain"] / seconds["predict"], 2),
            "page_upload_ms": round(1000 * seconds["page"], 1),
            "baseline_predict_then_explain_ms": round(1000 * seconds["predict_then_explain"], 1),
            "page_ratio_vs_predict_then_explain": round(seconds["page"] / seconds["predict_then_explain"], 2)}


def first_answer_seconds(poster: Path, read_words: bool) -> float:
    """From `python app.py` to its first `/predict` answer (the words read or not: the OCR engine loads lazily)."""
    from gradio_client import Client, handle_file

    start = time.perf_counter()
    server = AppServer(REPO / "examples", free_port())
    try:
        Client(server.url, verbose=False).predict(handle_file(str(poster)), read_words=read_words,
                                                  api_name="/predict")
        return time.perf_counter() - start
    finally:
        server.stop()


def cold_start(poster: Path, rounds: int = 3) -> dict:
    """The app's cold start to a first answer, from the poster alone and with the words read (alternating, the
    median of `rounds` each), against importing TensorFlow and loading the Keras model."""
    seconds = {True: [], False: []}
    for _ in range(rounds):
        for read_words in (False, True):
            seconds[read_words].append(first_answer_seconds(poster, read_words))
    app_s, words_s = statistics.median(seconds[False]), statistics.median(seconds[True])
    card = GenreClassifier(MODEL).card
    code = ("import keras; from types import SimpleNamespace; from benchmarks.run import keras_model; "
            f"keras_model(SimpleNamespace(labels={card.labels!r}, input_size={card.input_size!r}, "
            f"backbone={card.backbone!r}))")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True)
    tf_s = time.perf_counter() - start
    return {"app_to_first_answer_s": round(app_s, 1), "app_to_first_answer_with_words_s": round(words_s, 1),
            "poster_alone_runs_s": [round(x, 1) for x in seconds[False]],
            "with_words_runs_s": [round(x, 1) for x in seconds[True]],
            "baseline_tensorflow_import_and_load_s": round(tf_s, 1), "ratio": round(app_s / tf_s, 2)}


def memory(poster: Path) -> dict:
    import psutil
    from gradio_client import Client, handle_file

    server = AppServer(REPO / "examples", free_port())
    client = Client(server.url, verbose=False)
    for _ in range(50):
        client.predict(handle_file(str(poster)), api_name="/predict")
    app_mb = psutil.Process(server.process.pid).memory_info().rss / 1e6
    server.stop()
    floor = subprocess.run([sys.executable, "-c", ("import gradio, psutil; "
                                                  "print(psutil.Process().memory_info().rss)")], capture_output=True, text=True, check=True)
    floor_mb = int(floor.stdout) / 1e6
    return {"serving_rss_mb": round(app_mb), "baseline_import_gradio_rss_mb": round(floor_mb),
            "ratio": round(app_mb / floor_mb, 2)}


def cli_seconds(posters: list[Path], *extra: str, model: Path = MODEL) -> float:
    """Wall time of one `classify` process over `posters` (fp32 by default), start-up included."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "poster_genre", "classify", *map(str, posters), "--model", str(model),
                    *extra],
                   cwd=REPO, check=False, capture_output=True)
    return time.perf_counter() - start


def cli(posters: list[Path]) -> dict:
    cli_rate = len(posters) / cli_seconds(posters)
    classifier = GenreClassifier(MODEL)
    start = time.perf_counter()
    for poster in posters:
        classifier.classify(poster)
    single_rate = len(posters) / (time.perf_counter() - start)
    return {"posters": len(posters), "cli_images_per_s": round(cli_rate, 1),
            "baseline_one_call_per_image_per_s": round(single_rate, 1), "ratio": round(cli_rate / single_rate, 2)}


def ray_cli(posters: list[Path]) -> dict:
    """`classify --ray` (a local Ray on this machine's cores) against the local CLI on the same posters, for
    the served model; Ray's start-up: the same two commands on one poster."""
    rows = {}
    for name, model in (("served", MODEL),):
        seconds = {"local": cli_seconds(posters, model=model), "ray": cli_seconds(posters, "--ray", model=model)}
        one = {"local": cli_seconds(posters[:1], model=model), "ray": cli_seconds(posters[:1], "--ray", model=model)}
        startup = one["ray"] - one["local"]
        rows[name] = {"posters": len(posters), "baseline_local_images_per_s": round(len(posters) / seconds["local"], 1),
                      "ray_images_per_s": round(len(posters) / seconds["ray"], 1),
                      "ratio": round(seconds["local"] / seconds["ray"], 2), "ray_startup_s": round(startup, 1),
                      "ray_images_per_s_after_startup": round(len(posters) / max(seconds["ray"] - startup, 1e-9), 1),
                      "ratio_after_startup": round(seconds["local"] / max(seconds["ray"] - startup, 1e-9), 2)}
    return rows


def title_cost(posters: list[Path]) -> dict:
    """A request with a title and year (the served model's analysis of a poster file, then the text model and
    fusion) against a poster-only request, same posters, alternating blocks in one run."""
    classifier = GenreClassifier(default_model())
    if classifier.text is None:
        return {"skipped": "no model.text.onnx beside the served model"}
    text = TextInput("A Nightmare on Elm Street", 1984)
    seconds = median_seconds({"poster": lambda: [analyse(classifier, p) for p in posters[:4]],
                              "poster_title_year": lambda: [analyse(classifier, p, text) for p in posters[:4]]})
    return {"model": classifier.path.name, "poster_ms": round(250 * seconds["poster"], 2),
            "with_title_ms": round(250 * seconds["poster_title_year"], 2),
            "ratio": round(seconds["poster_title_year"] / seconds["poster"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--only", nargs="+",
                        choices=("latency", "versions", "explain", "cold_start", "memory", "cli", "ray",
                                 "title"))
    parser.add_argument("--previous", type=Path, default=PREVIOUS, help="the previous model, for `versions`")
    parser.add_argument("--cli-posters", type=int, default=200)
    parser.add_argument("--ray-posters", type=int, default=1000, help="TMDB posters for `ray` (default 1000)")
    args = parser.parse_args()
    os.environ.setdefault("POSTER_GENRE_THREADS", str(len(os.sched_getaffinity(0))))
    _, _, val = tmdb_split(args.data_dir)
    paths = [p.path for p in val]
    figures = {
        "latency": lambda: latency(paths),
        "versions": lambda: versions(paths, args.previous),
        "explain": lambda: explanation(paths),
        "cold_start": lambda: cold_start(paths[0]),
        "memory": lambda: memory(paths[0]),
        "cli": lambda: cli([p.path for p in read_tmdb(args.data_dir)][: args.cli_posters]),
        "ray": lambda: ray_cli([p.path for p in read_tmdb(args.data_dir)][: args.ray_posters]),
        "title": lambda: title_cost(paths),
    }
    for name in args.only or figures:
        print(json.dumps({name: figures[name]()}), flush=True)


if __name__ == "__main__":
    main()
