"""Fill the app's examples folder with held-out posters, one (or more) per genre.

    python -m train.examples [--data-dir ../shared/data] [--out examples] [--per-genre 1]

Validation posters only, so the examples are posters the model never trained on. Of each genre's
held-out posters, the ones the served model is most confident about (right or wrong) are taken:
the Space is for tags trusted when the model is confident, so its examples show that case.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from poster_genre.classifier import DEFAULT_MODEL, GenreClassifier
from poster_genre.cli import classify
from poster_genre.labels import GENRES
from train.data import data_dir_from_env, read_posters, split

REPO = Path(__file__).resolve().parents[1]


def fill_examples(data_dir: Path, out: Path, per_genre: int = 1, model: Path = DEFAULT_MODEL) -> list[Path]:
    """Copy the `per_genre` most confidently classified validation posters of each genre into `out`."""
    _, val = split(read_posters(data_dir))
    records = classify(GenreClassifier(model), [p.path for p in val], top_k=1, min_confidence=0)
    top_confidence = [record["labels"][0]["confidence"] for record in records]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for genre in GENRES:
        ranked = sorted((i for i, p in enumerate(val) if p.genre == genre), key=lambda i: -top_confidence[i])
        for poster in (val[i] for i in ranked[:per_genre]):
            target = out / f"{genre.lower()}_{poster.tmdb_id}{poster.path.suffix}"
            shutil.copyfile(poster.path, target)
            written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--out", type=Path, default=REPO / "examples")
    parser.add_argument("--per-genre", type=int, default=1)
    args = parser.parse_args()
    if not (args.data_dir / "labels.csv").exists():
        print(f"No labels.csv in {args.data_dir}; examples left as they are.")
        return
    print(f"{len(fill_examples(args.data_dir, args.out, args.per_genre))} example posters in {args.out}")


if __name__ == "__main__":
    main()
