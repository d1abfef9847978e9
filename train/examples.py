"""Fill the app's examples folder with held-out posters, one per genre, at most 342 px wide.

    python -m train.examples [--data-dir ../shared/data] [--imdb-dir DIR] [--out examples]

Validation posters only, so the examples are posters the model never trained on. For each genre,
the poster carrying it that the trained (fp32) model gives the highest probability of that genre is
taken: the Space shows what a confident tag looks like. The five genres come from version 1's TMDB
validation posters (collected under the genre). A model with more genres shows one of them too, the
served extra genre with the best validation AP, from the IMDb validation films, in place of the five
genres' weakest (at most five files, credited in examples/README.md), so a deployed Space has examples.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from poster_genre.analysis import file_probabilities
from poster_genre.card import IMDB_EVERY_GENRE, ModelCard
from poster_genre.classifier import GenreClassifier
from poster_genre.model import CHECKOUT_MODEL
from poster_genre.preprocess import load_image
from poster_genre.rules import FIRST_GENRES
from train.data import (
    Poster,
    data_dir_from_env,
    imdb_dir_from_env,
    split_posters,
    tmdb_split,
)

REPO = Path(__file__).resolve().parents[1]
MAX_WIDTH = 342


def example_genres(card: ModelCard) -> tuple[str, ...]:
    """The five genres; for a model with more, the best served extra one instead of the weakest of the five."""
    every = card.metrics.get(IMDB_EVERY_GENRE)
    if not every:
        return FIRST_GENRES
    ap = every["average_precision"]
    weakest = min(FIRST_GENRES, key=lambda g: ap[g])
    best_extra = max((g for g in card.labels if g not in FIRST_GENRES), key=lambda g: ap[g])
    return tuple(g for g in FIRST_GENRES if g != weakest) + (best_extra,)


def example_candidates(genre: str, data_dir: Path, imdb_dir: Path | None) -> list[Poster]:
    """Validation posters carrying `genre`: version 1's TMDB ones collected under it, else IMDb films."""
    if genre in FIRST_GENRES:
        return [p for p in tmdb_split(data_dir)[2] if p.genre == genre]
    return [p for p in split_posters(data_dir, imdb_dir)[2] if genre in p.imdb_genres]


def fill_examples(data_dir: Path, out: Path, model: Path | None = None, imdb_dir: Path | None = None) -> list[Path]:
    """Write one example poster per genre into `out` as `<genre>_<id>.jpg`, replacing older ones."""
    classifier = GenreClassifier(model or CHECKOUT_MODEL)
    chosen = []
    for genre in example_genres(classifier.card):
        candidates = example_candidates(genre, data_dir, imdb_dir)
        probs = file_probabilities(classifier, [p.path for p in candidates])[:, classifier.labels.index(genre)]
        chosen.append((genre, candidates[int(probs.argmax())]))
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jpg"):
        old.unlink()
    written = []
    for genre, poster in chosen:
        image = load_image(poster.path)
        if image.width > MAX_WIDTH:
            image = image.resize((MAX_WIDTH, round(image.height * MAX_WIDTH / image.width)))
        target = out / f"{genre.lower()}_{poster.tmdb_id or poster.path.stem}.jpg"
        image.save(target, quality=88)
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--imdb-dir", type=Path, default=imdb_dir_from_env(), help="IMDb poster folder")
    parser.add_argument("--out", type=Path, default=REPO / "examples")
    parser.add_argument("--model", type=Path, help="default: the fp32 model.onnx that training exported")
    args = parser.parse_args()
    if not (args.data_dir / "labels.csv").exists():
        raise SystemExit(f"No labels.csv in {args.data_dir}; examples left as they are.")
    print(f"{len(fill_examples(args.data_dir, args.out, args.model, args.imdb_dir))} example posters in {args.out}")


if __name__ == "__main__":
    main()
