"""How much averaging two image models' logits buys on the IMDb validation films, against each model alone.

    python -m benchmarks.mean_of_models [--models artifacts/model_v2.onnx artifacts/model_v3.onnx]

The ensemble's premise, measured where its rule is judged: the mean of the models' logits over the five genres,
five-genre mAP and top-1-in-genres on every IMDb validation film and per cohort (version 2's films, the films added
later), each model alone beside it, and the paired bootstrap of the mean against each (more than about two standard
errors apart is unlikely to be noise). The defaults are version 2 and version 3, which differ in data (9k against
25k posters) and genres (5 against 18): `git show bf50b54:model.onnx > artifacts/model_v2.onnx` and
`git show 34af7ab:model.onnx > artifacts/model_v3.onnx` make them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.prior import five
from poster_genre import GenreClassifier
from poster_genre.rules import FIRST_GENRES, logit, sigmoid
from train.data import data_dir_from_env, imdb_dir_from_env, split_posters
from train.metrics import mean_average_precision, paired_bootstrap, top1_in_genres

REPO = Path(__file__).resolve().parents[1]


def figures(truth: np.ndarray, answers: dict[str, np.ndarray]) -> dict:
    """Each answer's mAP and top-1, and the mean's paired bootstrap against each model alone."""
    mean = next(name for name in answers if name.startswith("mean"))
    out = {name: {"mAP": round(mean_average_precision(truth, probs), 4),
                  "top1_in_genres": round(top1_in_genres(truth, probs), 4)} for name, probs in answers.items()}
    for name, probs in answers.items():
        if name != mean:
            out[f"{mean} vs {name}"] = paired_bootstrap(mean_average_precision, truth, answers[mean], probs)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, nargs="+",
                        default=[REPO / "artifacts" / "model_v2.onnx", REPO / "artifacts" / "model_v3.onnx"])
    args = parser.parse_args(argv)
    val = [p for p in split_posters(data_dir_from_env(), imdb_dir_from_env())[2] if p.source == "imdb"]
    truth = np.stack([p.truth(FIRST_GENRES) for p in val]) > 0
    answers = {path.stem: five(GenreClassifier(path), val) for path in args.models}
    answers[f"mean of {len(answers)}"] = sigmoid(np.mean([logit(np.clip(a, 1e-6, 1 - 1e-6))
                                                          for a in answers.values()], axis=0))
    cohorts = np.array([p.cohort for p in val])
    result = {"imdb_validation_films": len(val), "all": figures(truth, answers)}
    for cohort in sorted(set(cohorts)):
        keep = cohorts == cohort
        result[f"cohort {cohort} ({keep.sum()} films)"] = figures(truth[keep], {k: v[keep] for k, v in answers.items()})
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
