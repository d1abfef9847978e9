"""Fill the app's examples folder with held-out posters, one per genre, at most 342 px wide.

    python -m train.examples [--data-dir ../shared/data] [--out examples]

Version 1's TMDB validation posters only, so the examples are posters the model never trained on.
For each genre, the poster collected under it that the trained (fp32) model gives the highest probability
of that genre is taken: the Space shows what a confident tag looks like. The files are
committed (at most five, credited in examples/README.md), so a deployed Space has examples.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from poster_genre.card import SINGLE_LABEL
from poster_genre.classifier import CHECKOUT_MODEL, GenreClassifier
from poster_genre.labels import GENRES
from poster_genre.preprocess import load_image
from train.data import data_dir_from_env, split_for

REPO = Path(__file__).resolve().parents[1]
MAX_WIDTH = 342


def fill_examples(data_dir: Path, out: Path, model: Path | None = None) -> list[Path]:
    """Write one example poster per genre into `out` as `<genre>_<tmdb_id>.jpg`, replacing older ones."""
    _, _, val = split_for(SINGLE_LABEL, data_dir, None)
    classifier = GenreClassifier(model or CHECKOUT_MODEL)  # fp32: its int8 copy can break near-ties apart
    probs = classifier.batch_probabilities([p.path for p in val])
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jpg"):
        old.unlink()
    written = []
    for index, genre in enumerate(GENRES):
        candidates = [i for i, p in enumerate(val) if p.genre == genre]
        poster = val[max(candidates, key=lambda i: probs[i, index])]
        image = load_image(poster.path)
        if image.width > MAX_WIDTH:
            image = image.resize((MAX_WIDTH, round(image.height * MAX_WIDTH / image.width)))
        target = out / f"{genre.lower()}_{poster.tmdb_id}.jpg"
        image.save(target, quality=88)
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--out", type=Path, default=REPO / "examples")
    parser.add_argument("--model", type=Path, help="default: the fp32 model.onnx that training exported")
    args = parser.parse_args()
    if not (args.data_dir / "labels.csv").exists():
        raise SystemExit(f"No labels.csv in {args.data_dir}; examples left as they are.")
    print(f"{len(fill_examples(args.data_dir, args.out, args.model))} example posters in {args.out}")


if __name__ == "__main__":
    main()
