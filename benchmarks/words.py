"""How fast the OCR engine reads posters and how many words it finds, per detection size, against RapidOCR's default.

    python -m benchmarks.words [--posters 40] [--data-dir ../shared/data] [--imdb-dir ../shared/data-imdb]

On the first IMDb validation posters (the training set's thumbnails), one process, one thread per engine, the
angle classifier off, each setting reading the same posters in alternating blocks (`export.timing`). The baseline
is RapidOCR's default detection size (the shorter side scaled to 736 px); `poster_genre.words` serves 480.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image

from export.timing import median_seconds
from poster_genre.words import DETECTION_SIDE, MIN_CONFIDENCE, engine_settings, new_engine
from train.data import data_dir_from_env, imdb_dir_from_env, split_posters

SETTINGS = {"default (min side 736)": engine_settings(736, "min"),
            "min side 480 (served)": engine_settings(DETECTION_SIDE, "min"),
            "min side 320": engine_settings(320, "min"),
            "max side 960": engine_settings(960, "max")}


def words_found(ocr, images: list[Image.Image]) -> float:
    """Mean words per poster at the served confidence floor."""
    counts = [sum(score >= MIN_CONFIDENCE for score in (ocr(image).scores or ())) for image in images]
    return sum(counts) / len(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posters", type=int, default=40)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--imdb-dir", type=Path, default=imdb_dir_from_env())
    args = parser.parse_args()
    _, _, val = split_posters(args.data_dir, args.imdb_dir)
    images = [Image.open(p.path).convert("RGB") for p in val if p.source == "imdb"][: args.posters]
    engines = {name: new_engine(settings) for name, settings in SETTINGS.items()}
    seconds = median_seconds({name: (lambda e=e: [e(image) for image in images]) for name, e in engines.items()},
                             repeats=3, block=1, warmup=1)
    baseline = next(iter(SETTINGS))
    for name, ocr in engines.items():
        print(json.dumps({"setting": name, "posters": len(images),
                          "seconds_per_poster": round(seconds[name] / len(images), 3),
                          "words_per_poster": round(words_found(ocr, images), 2),
                          "time_ratio_vs_default": round(seconds[name] / seconds[baseline], 2)}), flush=True)


if __name__ == "__main__":
    main()
