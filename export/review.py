"""Write the review rule's limits into an exported model's card, from the validation posters.

    python -m export.review model.onnx [--posters 0]

Every validation poster of the training split (or a seeded draw of `--posters`) is fitted to the model's input
as served and measured (`poster_genre.review.measurements`); the limits (`poster_genre.rules.review_limits`) go
into the card's `review` beside the rule, so that the app, the CLI and the API flag an image unlike a film poster.
`export.to_onnx` runs this on every model it writes.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx

from poster_genre.analysis import model_input
from poster_genre.card import ModelCard
from poster_genre.review import measurements
from poster_genre.rules import REVIEW_RULE, REVIEW_TAIL, review_limits, review_reasons
from train.data import data_dir_from_env, imdb_dir_from_env, split_posters


def review_posters(data_dir: Path, imdb_dir: Path | None, count: int = 0, seed: int = 0) -> list[Path]:
    """The training split's validation posters (seed 42), or a seeded draw of `count` of them, in split order."""
    val = split_posters(data_dir, imdb_dir, 42)[2]
    chosen = sorted(np.random.default_rng(seed).permutation(len(val))[:count]) if count else range(len(val))
    return [val[i].path for i in chosen]


def measured(card: ModelCard, sources: list, batch_size: int = 64) -> list[dict[str, float]]:
    """The review measurements of `sources`, fitted to the card's input size as the model sees them."""
    sized = type("Sized", (), {"input_size": card.input_size})()
    return [m for i in range(0, len(sources), batch_size)
            for m in measurements(model_input(sized, sources[i:i + batch_size]))]


def review_of(card: ModelCard, posters: list[Path]) -> dict:
    """The card's `review`: the rule, its limits from `posters` and how many of them it flags."""
    values = measured(card, posters)
    limits = {key: round(value, 4) for key, value in review_limits(values).items()}
    flagged = sum(bool(review_reasons(1.0, 0.0, m, limits)) for m in values)
    return {"rule": REVIEW_RULE, "tail": REVIEW_TAIL, "limits": limits, "posters": len(posters),
            "posters_flagged": flagged}


def add_review(path: Path, posters: list[Path]) -> dict:
    """Write the review into the card of the model at `path` (in place); returns it."""
    model = onnx.load(str(path))
    card = ModelCard.from_metadata({p.key: p.value for p in model.metadata_props})
    review = review_of(card, posters)
    del model.metadata_props[:]
    for key, value in replace(card, review=review).to_metadata().items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return review


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("--posters", type=int, default=0, help="a seeded draw of validation posters (0: all)")
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--imdb-dir", type=Path, default=imdb_dir_from_env())
    args = parser.parse_args(argv)
    review = add_review(args.model, review_posters(args.data_dir, args.imdb_dir, args.posters))
    print(f"{args.model}: review limits {review['limits']}; {review['posters_flagged']} of {review['posters']} "
          "validation posters flagged")


if __name__ == "__main__":
    main()
