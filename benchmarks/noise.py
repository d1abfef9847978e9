"""Which differences between models are real? Paired bootstrap over the validation films.

    python -m benchmarks.noise [--model model.onnx] [--previous artifacts/model_v2.onnx]
                               [--predictions artifacts/efficientnet_lite2/val_probabilities.npz]

The served model is compared on the same validation posters with the previous model (an ONNX
file, e.g. `git show bf50b54:model.onnx > artifacts/model_v2.onnx`) and with the linear probe of
the training run that produced it (`val_probabilities.npz`, written by `train.train`; used only
when its model probabilities match the served model's). Films are resampled with replacement,
the same resample for both models, seeded: the standard error of each figure and of each paired
difference. A difference of more than about two standard errors is unlikely to be noise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from poster_genre import GenreClassifier
from poster_genre.analysis import file_probabilities
from poster_genre.model import CHECKOUT_MODEL
from train.data import Poster, data_dir_from_env, imdb_dir_from_env, split_posters
from train.evaluate import PREDICTIONS
from train.metrics import compare, five_genres

REPO = Path(__file__).resolve().parents[1]


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
    parser.add_argument("--previous", type=Path, default=REPO / "artifacts" / "model_v2.onnx")
    parser.add_argument("--predictions", type=Path, default=REPO / "artifacts" / "efficientnet_lite2" / PREDICTIONS)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--imdb-dir", type=Path, default=imdb_dir_from_env())
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    classifier = GenreClassifier(args.model)
    _, _, val = split_posters(args.data_dir, args.imdb_dir)
    served = file_probabilities(classifier, [p.path for p in val])
    result = {"posters": len(val)}
    if args.previous.exists():
        previous = GenreClassifier(args.previous)
        theirs = file_probabilities(previous, [p.path for p in val])
        result["vs_previous"] = compare(val, five_genres(served, classifier.labels),
                                        five_genres(theirs, previous.labels), args.seed)
    else:
        result["vs_previous"] = f"skipped: no {args.previous}"
    probe = probe_probabilities(args.predictions, val, served)
    result["vs_probe"] = probe if isinstance(probe, str) else compare(
        val, five_genres(served, classifier.labels), five_genres(probe, classifier.labels), args.seed)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
