"""How optimistic is the F1 at thresholds chosen on the very posters it is measured on?

    python -m benchmarks.thresholds [--model model.onnx] [--folds 5] [--seed 0]

The shipped thresholds are, per genre, the best-F1 threshold on all validation posters, and the
report's F1 is measured on those same posters: an in-sample figure. Here the validation films are
cut into seeded folds; each fold is tagged with thresholds chosen by the same rule on the other
folds (cross-fitting), which is what the rule gives on posters it has not seen. Measured in the
same run on the same posters: the in-sample F1 (the named baseline, as reported) and a fixed 0.5.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from poster_genre import GenreClassifier
from poster_genre.analysis import file_probabilities
from poster_genre.model import CHECKOUT_MODEL
from poster_genre.rules import FIRST_GENRES, tagged
from train.data import data_dir_from_env, imdb_dir_from_env, split_posters
from train.metrics import choose_thresholds, precision_recall_f1


def cross_fitted_tags(truth: np.ndarray, probs: np.ndarray, folds: int, seed: int
                      ) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Tags of each poster from thresholds chosen on the other folds; and each fold's thresholds."""
    fold_of = np.random.default_rng(seed).permutation(len(truth)) % folds
    tags = np.zeros_like(truth, dtype=bool)
    chosen = []
    for fold in range(folds):
        held = fold_of == fold
        thresholds = choose_thresholds(truth[~held], probs[~held])
        tags[held] = tagged(probs[held], thresholds, FIRST_GENRES)
        chosen.append(thresholds)
    return tags, chosen


def f1_per_genre(truth: np.ndarray, tags: np.ndarray) -> np.ndarray:
    return np.array([precision_recall_f1(truth[:, i], tags[:, i])[2] for i in range(len(FIRST_GENRES))])


def compare(truth: np.ndarray, probs: np.ndarray, folds: int, seed: int) -> dict:
    """Per-genre F1 in-sample, cross-fitted and at 0.5, and the spread of the cross-fitted thresholds."""
    in_sample = choose_thresholds(truth, probs)
    crossed, chosen = cross_fitted_tags(truth, probs, folds, seed)
    figures = {
        "in_sample": f1_per_genre(truth, tagged(probs, in_sample, FIRST_GENRES)),
        "cross_fitted": f1_per_genre(truth, crossed),
        "fixed_0.5": f1_per_genre(truth, probs >= 0.5),
    }
    kept = {g: [t[g] for t in chosen if t[g] is not None] for g in FIRST_GENRES}  # None: a probability only
    spread = {g: (min(values), max(values)) if values else None for g, values in kept.items()}
    return {"posters": len(truth), "thresholds": in_sample, "fold_thresholds": spread,
            **{name: dict(zip(FIRST_GENRES, map(float, f1))) | {"macro": float(f1.mean())} for name, f1 in figures.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=CHECKOUT_MODEL, help="default: the fp32 model.onnx")
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--imdb-dir", type=Path, default=imdb_dir_from_env())
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    classifier = GenreClassifier(args.model)
    _, _, val = split_posters(args.data_dir, args.imdb_dir)
    probs = file_probabilities(classifier, [p.path for p in val])
    truth = np.stack([p.truth(FIRST_GENRES) for p in val]) > 0
    result = compare(truth, probs, args.folds, args.seed)
    print(f"{result['posters']} validation posters, {args.folds} folds; baseline: in-sample F1 (as reported)")
    print(f"{'genre':<10}{'in-sample':>10}{'cross-fit':>10}{'ratio':>7}{'at 0.5':>8}   thresholds: all / folds")
    for genre in (*FIRST_GENRES, "macro"):
        low, high = result["fold_thresholds"].get(genre, (None, None))
        spread = f"{result['thresholds'][genre]:.2f} / {low:.2f}..{high:.2f}" if low is not None else ""
        own, crossed, fixed = (result[name][genre] for name in ("in_sample", "cross_fitted", "fixed_0.5"))
        print(f"{genre:<10}{own:>10.3f}{crossed:>10.3f}{crossed / own:>7.3f}{fixed:>8.3f}   {spread}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
