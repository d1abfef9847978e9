"""What reading the words adds to an answer, in process, through the API, the CLI and the page.

    python -m benchmarks.words --answers [--posters 20] [--source imdb|tmdb|examples]
    python -m benchmarks.words --page [--posters 20] [--source imdb|tmdb|examples]
    python -m benchmarks.words --cli [--posters 200] [--source imdb|tmdb]
    python -m benchmarks.words --large

(How the reading settings trade cost against accuracy, against version 4's reading: `benchmarks.reading`.)

--answers, with the served model (or, for a model without a words model, a copy with a words branch,
`with_words_model`: the cost does not depend on the words model's weights), each against the same answer without
the words, in one run: an answer in process (the page's upload work: `analyse`), the reading alone (on
the classifier's threads, as served), the app's `/predict` (a real
server; the page's upload runs the same analysis), and the CLI's throughput (local and `--ray`). `--source tmdb`
measures it on TMDB's w500 posters (a poster as people drop it on the page) instead of IMDb's thumbnails, and
`--source examples` on the page's five example posters (342 px wide), taken in turn.

--cli: the CLI's throughput alone (local), with the words against without, in one run. --large: a 37.5-megapixel
PNG poster's answer in process (`analyse`), with the words against without.

--page, with the served model: the page itself in headless Chromium, from dropping a poster to its tags shown,
with the words read and without (`page_upload`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.appserver import CHROMIUM, FLAGS, REPO, AppServer, free_port, open_page
from benchmarks.reading import words_or_none
from export.timing import median_seconds
from poster_genre import GenreClassifier
from poster_genre.analysis import analyse
from poster_genre.model import default_model
from poster_genre.preprocess import IMAGE_SUFFIXES
from poster_genre.words import read_words
from train.data import data_dir_from_env, imdb_dir_from_env, split_posters


def with_words_model(folder: Path) -> Path:
    """A copy of the served model whose text model also reads the words on a poster, built by the real exporter:
    its words model is the title model's own weights (a title's tokens and a poster's words hash alike, as the
    shipped title model reads OCR text when handed it as a title), each words mode fused and thresholded as its
    title mode. For tests and benchmarks of the words path with a model trained before the words model. Returns
    model.onnx."""
    import onnx
    from onnx import numpy_helper

    from export.text_model import text_graph
    from poster_genre.card import TextCard
    from poster_genre.text import MODES, TEXT_NAME, text_model_beside, with_words_column

    served = Path(default_model())
    text = onnx.load(str(text_model_beside(served)))
    arrays = {t.name: numpy_helper.to_array(t) for t in text.graph.initializer}
    card = TextCard.from_metadata({prop.key: prop.value for prop in text.metadata_props})

    def like(mode: str) -> str:  # the title mode standing in for a words mode
        stand_in = {"words": "title", "year+words": "title+year"}
        return stand_in.get(mode, mode.removesuffix("+words"))

    fusion = {}
    for mode in MODES:
        weights = with_words_column(np.asarray(card.fusion[like(mode)], np.float64))
        if "words" in mode:
            weights[:, 2] = weights[:, 1]
            weights[:, 1] = 0.0 if mode == "words" else weights[:, 1]
        fusion[mode] = weights.tolist()
    card = replace(card, fusion=fusion, thresholds={mode: card.thresholds[like(mode)] for mode in MODES},
                   tag_status={mode: card.tag_status.get(like(mode), {}) for mode in MODES})
    model = text_graph(arrays["W"], arrays["b"], (arrays["W"], arrays["b"]))
    for key, value in card.to_metadata().items():
        model.metadata_props.add(key=key, value=value)
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(folder / TEXT_NAME))
    (folder / served.name).write_bytes(served.read_bytes())
    return folder / served.name


def answers(posters: list[Path], model: Path) -> dict:
    """Answers with the words read against without, each pair in one run."""
    classifier = GenreClassifier(model)
    analyse(classifier, posters[0], read_words=True)  # the engine loads once per process
    seconds = median_seconds({"without": lambda: [analyse(classifier, p) for p in posters],
                              "with": lambda: [analyse(classifier, p, read_words=True) for p in posters]},
                             repeats=3, block=1, warmup=1)
    images = [Image.open(p).convert("RGB") for p in posters]
    def read(image: Image.Image) -> list:
        return read_words(image, classifier.threads)

    reading = median_seconds({"reading": lambda: [words_or_none(read, image) for image in images]},
                             repeats=2, block=1, warmup=1)["reading"]
    figures = {"posters": len(posters),
               "answer_ms": {name: round(1000 * value / len(posters), 1) for name, value in seconds.items()},
               "answer_ratio": round(seconds["with"] / seconds["without"], 2),
               "reading_alone_ms": round(1000 * reading / len(posters), 1),
               "api_predict_ms": api_predict(posters, model)}
    figures["api_ratio"] = round(figures["api_predict_ms"]["with"] / figures["api_predict_ms"]["without"], 2)
    return {**figures, "cli": cli_rates(posters, model)}


def api_predict(posters: list[Path], model: Path, rounds: int = 2) -> dict:
    """Median `/predict` time of a real app server, read_words true against false, alternating poster by poster."""
    from gradio_client import Client, handle_file

    server = AppServer(REPO / "examples", free_port(), "--model", str(model))
    try:
        client = Client(server.url, verbose=False)
        times = {True: [], False: []}
        for read in (True, False):  # warm up
            client.predict(handle_file(str(posters[0])), read_words=read, api_name="/predict")
        for _ in range(rounds):
            for poster in posters:
                for read in (True, False):
                    start = time.perf_counter()
                    client.predict(handle_file(str(poster)), read_words=read, api_name="/predict")
                    times[read].append(time.perf_counter() - start)
    finally:
        server.stop()
    return {"with": round(1000 * statistics.median(times[True]), 1),
            "without": round(1000 * statistics.median(times[False]), 1)}


# The page's tag line once the answer is in (while it works, Gradio shows a timer there).
ANSWERED = "() => /Tags:|No confident genre|Not classified/.test(document.querySelector('#tags')?.innerText || '')"


def page_upload(posters: list[Path], model: Path) -> dict:
    """Median seconds from dropping a poster on the page (headless Chromium, a real app server, a fresh page each
    time) to its tags shown, "Read the words on the poster" ticked against unticked, alternating poster by poster;
    the first poster is a warm-up."""
    from playwright import sync_api

    server = AppServer(REPO / "examples", free_port(), "--model", str(model))
    times = {True: [], False: []}
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for poster in [posters[0], *posters]:
                for read in (True, False):
                    page = browser.new_page()
                    open_page(page, server.url)
                    page.set_checked("#read-words input", read)
                    start = time.perf_counter()
                    page.set_input_files("input[type=file]", str(poster))
                    page.wait_for_function(ANSWERED, timeout=60_000)
                    times[read].append(time.perf_counter() - start)
                    page.close()
            browser.close()
    finally:
        server.stop()
    return {"with": round(1000 * statistics.median(times[True][1:]), 1),
            "without": round(1000 * statistics.median(times[False][1:]), 1)}


def large_poster(model: Path, data_dir: Path) -> dict:
    """A 37.5-megapixel PNG poster's (5000 x 7500, within the caps) answer in process, with the words against
    without (medians of alternating runs)."""
    classifier = GenreClassifier(model)
    poster = min(Path(data_dir).rglob("*.jpg"))
    large = Path(tempfile.mkdtemp(prefix="poster-genre-large-")) / "poster.png"
    Image.open(poster).convert("RGB").resize((5000, 7500), Image.Resampling.BILINEAR).save(large)
    seconds = median_seconds({"without": lambda: analyse(classifier, large),
                              "with": lambda: analyse(classifier, large, read_words=True)},
                             repeats=4, block=1, warmup=1)
    return {"pixels": 5000 * 7500, "file_mb": round(large.stat().st_size / 1e6, 1),
            "answer_ms": {name: round(1000 * value, 1) for name, value in seconds.items()},
            "ratio": round(seconds["with"] / seconds["without"], 2)}


def cli_rates(posters: list[Path], model: Path, ray: bool = True) -> dict:
    """Posters a second of one `classify` process, with the words read against without, local and (with `ray`)
    on a local Ray."""
    def rate(*extra: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "poster_genre", "classify", *map(str, posters), "--model", str(model),
                        *extra], cwd=REPO, check=True, capture_output=True)
        return round(len(posters) / (time.perf_counter() - start), 2)

    local = {"without": [], "with": []}
    for _ in range(2):  # alternating: a drifting machine falls on both sides alike
        local["without"].append(rate("--no-read-words"))
        local["with"].append(rate("--read-words"))
    out = {"local": {name: round(statistics.mean(rates), 2) for name, rates in local.items()}}
    if ray:
        out["ray"] = {"without": rate("--no-read-words", "--ray"), "with": rate("--read-words", "--ray")}
    for where in out.values():
        where["ratio"] = round(where["with"] / where["without"], 2)
    return out


def chosen_posters(source: str, count: int, data_dir: Path, imdb_dir: Path) -> list[Path]:
    """`count` posters of `source`: the first validation posters of IMDb or TMDB, or uploads of the page's example
    posters taken in turn (these need no shared data)."""
    if source == "examples":
        examples = sorted(p for p in (REPO / "examples").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        return [examples[i % len(examples)] for i in range(count)]
    _, _, val = split_posters(data_dir, imdb_dir)
    return [p.path for p in val if p.source == source][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posters", type=int, default=40)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--imdb-dir", type=Path, default=imdb_dir_from_env())
    parser.add_argument("--answers", action="store_true", help="what reading the words adds to an answer")
    parser.add_argument("--page", action="store_true",
                        help="the page's answer to an upload, with the words and without")
    parser.add_argument("--cli", action="store_true", help="the CLI's throughput, with the words and without")
    parser.add_argument("--large", action="store_true",
                        help="a 37.5-megapixel poster's answer, with the words and without")
    parser.add_argument("--source", choices=("imdb", "tmdb", "examples"), default="imdb",
                        help="whose posters: IMDb's 182 px validation thumbnails (default), TMDB's w500 validation "
                             "posters, or the page's example posters (342 px wide) in turn")
    args = parser.parse_args()
    if args.large:
        print(json.dumps(large_poster(Path(default_model()), args.data_dir)), flush=True)
        return
    if args.answers or args.page or args.cli:
        posters = chosen_posters(args.source, args.posters, args.data_dir, args.imdb_dir)
    if args.answers:
        served = Path(default_model())
        model = served if GenreClassifier(served).reads_words else \
            with_words_model(Path(tempfile.mkdtemp(prefix="poster-genre-words-")))
        print(json.dumps({"source": args.source, **answers(posters, model)}), flush=True)
        return
    if args.cli:
        rates = cli_rates(posters, Path(default_model()), ray=False)
        print(json.dumps({"source": args.source, "posters": len(posters), **rates}), flush=True)
        return
    if args.page:
        figures = page_upload(posters, Path(default_model()))
        print(json.dumps({"source": args.source, "posters": len(posters), "page_upload_ms": figures,
                          "ratio": round(figures["with"] / figures["without"], 2)}), flush=True)
        return
    parser.error("say what to measure: --answers, --cli, --large or --page")

if __name__ == "__main__":
    main()
