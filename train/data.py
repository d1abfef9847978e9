"""Posters and their labels, and the deterministic train/validation split.

`labels.csv` has the schema of ../shared/data/labels.csv: tmdb_id, file (relative to the data
folder), genre (the primary genre, possibly empty) and genres (every genre, `|`-joined).
"""

from __future__ import annotations

import csv
import os
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from poster_genre.labels import GENRES

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_dir_from_env() -> Path:
    """The poster folder: $POSTER_GENRE_DATA, else ../shared/data beside the repository."""
    return Path(os.environ.get("POSTER_GENRE_DATA", DEFAULT_DATA_DIR))


@dataclass(frozen=True)
class Poster:
    tmdb_id: str
    path: Path
    genre: str
    genres: tuple[str, ...]

    @property
    def label(self) -> int:
        return GENRES.index(self.genre)


def read_posters(data_dir: Path) -> list[Poster]:
    """Every poster of `data_dir/labels.csv` that has a primary genre among GENRES."""
    posters = []
    with open(Path(data_dir) / "labels.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["genre"] in GENRES:
                genres = tuple(g for g in row["genres"].split("|") if g)
                posters.append(Poster(row["tmdb_id"], Path(data_dir) / row["file"], row["genre"], genres))
    return posters


def split(posters: list[Poster], val_fraction: float = 0.2, seed: int = 42
          ) -> tuple[list[Poster], list[Poster]]:
    """Stratify by genre, keep every poster of one film on the same side, same answer every run."""
    films: dict[str, list[Poster]] = defaultdict(list)
    for poster in posters:
        films[poster.tmdb_id].append(poster)
    by_genre: dict[str, list[str]] = defaultdict(list)
    for film_id, film_posters in sorted(films.items()):
        by_genre[film_posters[0].genre].append(film_id)
    rng = random.Random(seed)
    val_films: set[str] = set()
    for genre in sorted(by_genre):
        ids = by_genre[genre]
        rng.shuffle(ids)
        val_films.update(ids[: round(len(ids) * val_fraction)])
    train = [p for p in posters if p.tmdb_id not in val_films]
    val = [p for p in posters if p.tmdb_id in val_films]
    return train, val
