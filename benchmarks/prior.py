"""Does the top genre lean on one collection's prior? Top-1-in-genres on the natural IMDb validation films and on a
genre-balanced subset of them, and five-genre mAP, for the served model, version 2 and version 3, same posters.

    python -m benchmarks.prior [--model model.onnx] [--v2 artifacts/model_v2.onnx] [--v3 artifacts/model_v3.onnx]

The balanced subset: the IMDb validation films that carry exactly one of the five genres, the same number of each
(as many as the rarest has; a seeded draw). Paired bootstrap over films: the served model against version 2 on
the balanced subset (top-1-in-genres) and against version 3 on every IMDb validation film (mAP); more than about
two standard errors apart is unlikely to be noise. `git show bf50b54:model.onnx > artifacts/model_v2.onnx` and
`git show 34af7ab:model.onnx > artifacts/model_v3.onnx` make the baselines.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from poster_genre import GenreClassifier
from poster_genre.analysis import file_probabilities
from poster_genre.model import CHECKOUT_MODEL
from poster_genre.rules import FIRST_GENRES
from train.data import Poster, data_dir_from_env, imdb_dir_from_env, split_posters
from train.metrics import mean_average_precision, paired_bootstrap, top1_in_genres

REPO = Path(__file__).resolve().parents[1]


def balanced(posters: list[Poster], seed: int = 0) -> np.ndarray:
    """Indices of a subset with each of the five genres equally often, one genre a film."""
    truth = np.stack([p.truth(FIRST_GENRES) for p in posters]) > 0
    single = truth.sum(1) == 1
    per_genre = [np.flatnonzero(single & truth[:, g]) for g in range(len(FIRST_GENRES))]
    count = min(len(films) for films in per_genre)
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.choice(films, count, replace=False) for films in per_genre]))


def five(classifier: GenreClassifier, posters: list[Poster]) -> np.ndarray:
    probs = file_probabilities(classifier, [p.path for p in posters])
    return probs[:, [classifier.labels.index(g) for g in FIRST_GENRES]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=CHECKOUT_MODEL)
    parser.add_argument("--v2", type=Path, default=REPO / "artifacts" / "model_v2.onnx")
    parser.add_argument("--v3", type=Path, default=REPO / "artifacts" / "model_v3.onnx")
    args = parser.parse_args(argv)
    val = [p for p in split_posters(data_dir_from_env(), imdb_dir_from_env())[2] if p.source == "imdb"]
    truth = np.stack([p.truth(FIRST_GENRES) for p in val]) > 0
    subset = balanced(val)
    answers = {name: five(GenreClassifier(path), val) for name, path in
               (("served", args.model), ("v2", args.v2), ("v3", args.v3))}
    result = {"imdb_validation_films": len(val), "balanced_films": len(subset), "models": {}}
    for name, probs in answers.items():
        top = probs.argmax(1)
        result["models"][name] = {
            "mAP": round(mean_average_precision(truth, probs), 4),
            "top1_in_genres": round(top1_in_genres(truth, probs), 4),
            "balanced_top1_in_genres": round(top1_in_genres(truth[subset], probs[subset]), 4),
            "top_genre_shares": {g: round(float((top == i).mean()), 3) for i, g in enumerate(FIRST_GENRES)}}
    result["served_vs_v2_balanced_top1"] = paired_bootstrap(top1_in_genres, truth[subset], answers["served"][subset],
                                                            answers["v2"][subset])
    result["served_vs_v3_mAP"] = paired_bootstrap(mean_average_precision, truth, answers["served"], answers["v3"])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
