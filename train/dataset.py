"""The posters of one training run: split by film (`train.data`), the candidate genres it learns, its targets and
the counts the report gives."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from poster_genre.rules import FIRST_GENRES
from train.config import TrainConfig
from train.data import Poster, split_posters

FOLDS = 5  # out-of-fold predictions: folds by film


def candidate_labels(posters: list[Poster], min_films: int) -> tuple[str, ...]:
    """The five genres, then every other IMDb genre that at least `min_films` of these posters' films carry, most
    films first."""
    tally = training_films(posters)
    return FIRST_GENRES + tuple(g for g, n in tally.most_common() if g not in FIRST_GENRES and n >= min_films)


def training_films(posters: list[Poster]) -> Counter:
    """Films per genre: the five as labelled, other genres from the IMDb lists."""
    genres_of: dict[str, set[str]] = {}
    for p in posters:
        genres_of.setdefault(p.film, set()).update(p.genres, p.imdb_genres if p.source == "imdb" else ())
    return Counter(g for genres in genres_of.values() for g in genres)


def targets(posters: list[Poster], labels: tuple[str, ...]) -> np.ndarray:
    """(N, genres) float32: 1 or 0 per genre, -1 where unknown."""
    return np.stack([p.truth(labels) for p in posters]) if posters else np.zeros((0, len(labels)), np.float32)


def counts(posters: list[Poster], labels: tuple[str, ...]) -> dict:
    """Posters per source and cohort, and per genre (a poster counts once for each of its genres)."""
    tally = Counter(g for p in posters for g in set(p.genres) | set(p.imdb_genres) if g in labels)
    return {"posters": len(posters), "by_source": dict(sorted(Counter(p.source for p in posters).items())),
            "by_cohort": dict(sorted(Counter(p.cohort for p in posters).items())),
            "per_genre": {genre: tally[genre] for genre in labels},
            "no_genre": sum(not p.genres for p in posters)}


@dataclass(frozen=True)
class Data:
    """The posters of one run, split by film, with their targets over the candidate genres."""

    posters: list[Poster]
    train: list[Poster]
    val: list[Poster]
    labels: tuple[str, ...]
    y_train: np.ndarray
    y_val: np.ndarray

    @classmethod
    def load(cls, config: TrainConfig) -> Data:
        posters, train, val = split_posters(config.data_dir, config.imdb_dir, config.seed)
        labels = candidate_labels(train, config.min_candidate_films)
        return cls(posters, train, val, labels, targets(train, labels), targets(val, labels))

    @property
    def val_imdb(self) -> np.ndarray:
        return np.array([p.source == "imdb" for p in self.val])


def folds_by_film(posters: list[Poster], seed: int) -> np.ndarray:
    """Each poster's fold (0..FOLDS-1); all posters of one film share a fold."""
    films = sorted({p.film for p in posters})
    fold = {film: i % FOLDS for i, film in enumerate(np.random.default_rng(seed).permutation(films))}
    return np.array([fold[p.film] for p in posters])
