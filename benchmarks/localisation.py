"""Does the heatmap point at the poster? Each map form of each model, against chance.

    python -m benchmarks.localisation [--model model.onnx ...] [--count 30] [--seed 0]

Each of `count` held-out TMDB posters (version 1's validation posters, a seeded sample) is pasted
at 40% of the canvas size into a random corner of a mid-grey 2:3 canvas. The genre is the
poster's most likely genre, predicted from the poster alone. A hit is when the hottest cell of
that genre's map on the canvas falls inside the pasted poster; chance is 0.4 x 0.4 = 16%.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
from PIL import Image

from poster_genre import GenreClassifier
from poster_genre.analysis import model_input
from poster_genre.explain import FORMS, evidence
from poster_genre.preprocess import load_image
from train.data import data_dir_from_env, tmdb_split

REPO = Path(__file__).resolve().parents[1]

CANVAS = (520, 780)  # width, height: 2:3
SHARE = 0.4
GREY = (128, 128, 128)


def paste_in_corner(poster: Image.Image, rng: random.Random) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A grey 2:3 canvas with the poster at 40% size in a random corner, and the poster's box."""
    canvas = Image.new("RGB", CANVAS, GREY)
    width, height = round(CANVAS[0] * SHARE), round(CANVAS[1] * SHARE)
    left = rng.choice((0, CANVAS[0] - width))
    top = rng.choice((0, CANVAS[1] - height))
    canvas.paste(poster.resize((width, height), Image.Resampling.BILINEAR), (left, top))
    return canvas, (left, top, left + width, top + height)


def hottest_cell_centre(heat: np.ndarray) -> tuple[float, float]:
    """(x, y) on the canvas of the centre of the map's hottest cell."""
    row, col = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return (col + 0.5) / heat.shape[1] * CANVAS[0], (row + 0.5) / heat.shape[0] * CANVAS[1]


def localisation(classifier: GenreClassifier, posters: list[Path], seed: int = 0) -> dict[str, int]:
    """Hits per map form over `posters`."""
    rng = random.Random(seed)
    hits = dict.fromkeys(FORMS, 0)
    for path in posters:
        poster = load_image(path)
        genre = int(classifier.probabilities(model_input(classifier, [poster]))[0].argmax())
        canvas, (left, top, right, bottom) = paste_in_corner(poster, rng)
        _, maps = classifier.probabilities_and_maps(model_input(classifier, [canvas]))
        for form in FORMS:
            x, y = hottest_cell_centre(evidence(maps[0], genre, form))
            hits[form] += int(left <= x < right and top <= y < bottom)
    return hits


def sample_posters(data_dir: Path, count: int, seed: int = 0) -> list[Path]:
    """A seeded sample of version 1's TMDB validation posters."""
    _, _, val = tmdb_split(data_dir)
    return [p.path for p in random.Random(seed).sample(val, count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, nargs="+", default=[REPO / "model.onnx"])
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    posters = sample_posters(args.data_dir, args.count, args.seed)
    for model in args.model:
        classifier = GenreClassifier(model)
        hits = localisation(classifier, posters, args.seed)
        print(json.dumps({"model": str(model), "kind": classifier.card.kind, "posters": len(posters),
                          "chance": round(SHARE * SHARE, 2), **{f"{form}_hits": n for form, n in hits.items()},
                          **{f"{form}_rate": round(n / len(posters), 3) for form, n in hits.items()}}))


if __name__ == "__main__":
    main()
