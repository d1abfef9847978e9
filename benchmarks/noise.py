"""Which differences between models are real? Paired bootstrap over the validation films.

    python -m benchmarks.noise [--model model.onnx] [--previous artifacts/model_v1.onnx]
                               [--predictions artifacts/efficientnet_lite2/val_probabilities.npz]

The served model is compared on the same validation posters with the previous model (an ONNX
file, e.g. `git show d2815d1:model.onnx > artifacts/model_v1.onnx`) and with the linear probe of
the training run that produced it (`val_probabilities.npz`, written by `train.train`; used only
when its model probabilities match the served model's). Films are resampled with replacement,
the same resample for both models, seeded: the standard error of each figure and of each paired
difference. A difference of more than about two standard errors is unlikely to be noise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable

import numpy as np

from poster_genre import GenreClassifier
from poster_genre.classifier import CHECKOUT_MODEL
from poster_genre.labels import GENRES
from train.data import Poster, data_dir_from_env, imdb_dir_from_env, split_for
from train.evaluate import PREDICTIONS, mean_average_precision, top1_in_genres

REPO = Path(__file__).resolve().parents[1]

Figure = Callable[[np.ndarray, np.ndarray], float]  # (truth or genre index, probabilities) -> figure


def accuracy(primary: np.ndarray, probs: np.ndarray) -> float:
    """Share of posters whose most likely genre is the collected one."""
    return float((probs.argmax(axis=1) == primary).mean())


def paired_bootstrap(figure: Figure, truth: np.ndarray, ours: np.ndarray, theirs: np.ndarray,
                     resamples: int = 2000, seed: int = 0) -> dict:
    """Both models' figure, and the standard errors of ours and of the paired difference."""
    rng = np.random.default_rng(seed)
    samples = [rng.integers(0, len(truth), len(truth)) for _ in range(resamples)]
    mine = np.array([figure(truth[s], ours[s]) for s in samples])
    difference = mine - np.array([figure(truth[s], theirs[s]) for s in samples])
    ours_figure, theirs_figure = figure(truth, ours), figure(truth, theirs)
    observed = ours_figure - theirs_figure
    return {"ours": round(ours_figure, 4), "theirs": round(theirs_figure, 4),
            "se_ours": round(float(mine.std()), 4), "difference": round(observed, 4),
            "se_difference": round(float(difference.std()), 4),
            "standard_errors_apart": round(observed / max(float(difference.std()), 1e-12), 1)}


def compare(posters: list[Poster], ours: np.ndarray, theirs: np.ndarray, seed: int = 0) -> dict:
    """mAP and top-1-in-genres on the IMDb films; accuracy on version 1's TMDB posters."""
    imdb = np.array([p.source == "imdb" for p in posters])
    truth = np.stack([p.targets for p in posters]) > 0
    primary = np.array([GENRES.index(p.genre) if p.genre in GENRES else -1 for p in posters])
    tmdb = ~imdb & (primary >= 0)
    return {"imdb_mAP": paired_bootstrap(mean_average_precision, truth[imdb], ours[imdb], theirs[imdb], seed=seed),
            "imdb_top1_in_genres": paired_bootstrap(top1_in_genres, truth[imdb], ours[imdb], theirs[imdb], seed=seed),
            "tmdb_accuracy": paired_bootstrap(accuracy, primary[tmdb], ours[tmdb], theirs[tmdb], seed=seed)}


def probe_probabilities(path: Path, posters: list[Poster], served: np.ndarray) -> np.ndarray | str:
    """The probe's validation probabilities from a training run of the served model, or why not."""
    if not path.exists():
        return f"skipped: no {path} (python -m train.train writes it)"
    saved = np.load(path)
    if [Path(f).resolve() for f in saved["files"]] != [p.path.resolve() for p in posters]:
        return f"skipped: {path} holds other validation posters"
    if np.abs(saved["model"] - served).max() > 1e-3:
        return f"skipped: {path} is from a training run of another model"
    return saved["probe"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=CHECKOUT_MODEL, help="default: the fp32 model.onnx")
    parser.add_argument("--previous", type=Path, default=REPO / "artifacts" / "model_v1.onnx")
    parser.add_argument("--predictions", type=Path, default=REPO / "artifacts" / "efficientnet_lite2" / PREDICTIONS)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--imdb-dir", type=Path, default=imdb_dir_from_env())
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    classifier = GenreClassifier(args.model)
    _, _, val = split_for(classifier.card.kind, args.data_dir, args.imdb_dir)
    served = classifier.batch_probabilities([p.path for p in val])
    result = {"posters": len(val)}
    if args.previous.exists():
        previous = GenreClassifier(args.previous).batch_probabilities([p.path for p in val])
        result["vs_previous"] = compare(val, served, previous, args.seed)
    else:
        result["vs_previous"] = f"skipped: no {args.previous}"
    probe = probe_probabilities(args.predictions, val, served)
    result["vs_probe"] = probe if isinstance(probe, str) else compare(val, served, probe, args.seed)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
