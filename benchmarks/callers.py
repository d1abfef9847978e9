"""Eight callers at once, one of them sending screenshots of a text document: are the others' posters answered with
their words, and how much later?

    python -m benchmarks.callers [--posters 6] [--source tmdb|imdb|examples]

With the served model, 8 `gradio_client` callers of a real app server's `/tags` at once, each sending its posters in
turn, against the same 8 with one of them sending screenshots of a text document instead
(`benchmarks.hard_images`), in one run on one server (the all-posters run before and after): each poster caller's
median answer time as a ratio of the all-posters runs', and how many of their answers came without their words.
One caller alone is measured too, for scale.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.appserver import REPO, AppServer, free_port
from benchmarks.hard_images import text_screenshot
from benchmarks.words import chosen_posters
from poster_genre.model import default_model
from train.data import data_dir_from_env, imdb_dir_from_env


def callers(posters: list[Path], model: Path, count: int = 8) -> dict:
    """Poster callers' median `/tags` time with one of `count` callers sending text screenshots, against all
    `count` sending posters, in one run on one server; answers without words among theirs."""
    from gradio_client import Client, handle_file

    document = Path(tempfile.mkdtemp(prefix="poster-genre-document-")) / "document.png"
    text_screenshot().save(document)
    server = AppServer(REPO / "examples", free_port(), "--model", str(model))

    def caller(images: list[Path]) -> list[tuple[float, dict]]:
        client = Client(server.url, verbose=False)
        timed = []
        for image in images:
            start = time.perf_counter()
            tags = client.predict(handle_file(str(image)), api_name="/tags")
            timed.append((time.perf_counter() - start, tags))
        return timed

    def run(with_screenshots: bool) -> list[list[tuple[float, dict]]]:
        with ThreadPoolExecutor(count) as pool:
            first = [document] * len(posters) if with_screenshots else posters
            return [f.result() for f in [pool.submit(caller, first),
                                         *(pool.submit(caller, posters) for _ in range(count - 1))]]

    try:
        caller(posters[:2])  # warm-up
        alone = statistics.median(seconds for seconds, _ in caller(posters))
        runs = {name: run(name == "one sends screenshots") for name in ("all send posters", "one sends screenshots",
                                                                       "all send posters again")}
    finally:
        server.stop()
    medians = {name: round(1000 * statistics.median(s for c in calls[1:] for s, _ in c), 1)
               for name, calls in runs.items()}
    baseline = (medians["all send posters"] + medians["all send posters again"]) / 2
    missing = sum("words" not in tags or "words_note" in tags
                  for c in runs["one sends screenshots"][1:] for _, tags in c)
    return {"callers": count, "posters_each": len(posters), "alone_ms": round(1000 * alone, 1),
            "poster_callers_median_ms": medians,
            "ratio_with_screenshots": round(medians["one sends screenshots"] / baseline, 2),
            "poster_answers_without_words": missing,
            "screenshot_answers": [sorted(tags) for _, tags in runs["one sends screenshots"][0][:1]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posters", type=int, default=6, help="posters each caller sends")
    parser.add_argument("--source", choices=("imdb", "tmdb", "examples"), default="tmdb")
    args = parser.parse_args()
    posters = chosen_posters(args.source, args.posters, data_dir_from_env(), imdb_dir_from_env())
    print(json.dumps({"source": args.source, **callers(posters, Path(default_model()))}), flush=True)


if __name__ == "__main__":
    main()
