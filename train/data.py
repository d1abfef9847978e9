"""Posters and their labels from both data folders, and the deterministic train/validation splits.

Two schemas, one `Poster`:
- TMDB (`../shared/data/labels.csv`): tmdb_id, file, genre (the primary genre the poster was
  collected under, possibly empty), genres (every collected genre, `|`-joined).
- IMDb (`../shared/data-imdb/labels.csv`, or the public poster set that `train.build_posters` makes
  with the same schema and an `in_data_imdb` column): imdb_id, tmdb_id (may be empty), title, year,
  file, genres (which of our five the film carries, possibly none: a real negative), imdb_genres
  (the film's full IMDb list), source.

Genres beyond the five are known for IMDb posters only: a TMDB poster carries the genres it was
collected under, so for it a genre outside the five is unknown, not absent (-1 in `Poster.truth`).

A film is keyed by its TMDB id where known, else its IMDb id, so one film present in both folders
is one film for the split.
"""

from __future__ import annotations

import csv
import math
import os
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from poster_genre.rules import FIRST_GENRES

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEFAULT_DATA_DIR = SHARED / "data"
DEFAULT_IMDB_DIR = SHARED / "data-imdb"
DEFAULT_PUBLIC_DIR = SHARED.parent / "posters-public"  # where `python -m train.build_posters` puts its output
FIRST_VAL_FRACTION = 0.2  # of the TMDB posters with a collected genre: the first split, kept as it was
DATA_IMDB = "data-imdb"  # the cohort of the films in ../shared/data-imdb
PUBLIC = "public"  # the cohort of the films only the public set has
IMDB_VAL_FRACTION = 0.15


def data_dir_from_env() -> Path:
    """The TMDB poster folder: $POSTER_GENRE_DATA, else ../shared/data beside the repository."""
    return Path(os.environ.get("POSTER_GENRE_DATA", DEFAULT_DATA_DIR))


def imdb_dir_from_env() -> Path:
    """The IMDb poster folder: $POSTER_GENRE_IMDB_DATA, else the built public set ../posters-public
    when it is there, else ../shared/data-imdb (its 9,497 films are among the public set's)."""
    if "POSTER_GENRE_IMDB_DATA" in os.environ:
        return Path(os.environ["POSTER_GENRE_IMDB_DATA"])
    return DEFAULT_PUBLIC_DIR if (DEFAULT_PUBLIC_DIR / "labels.csv").exists() else DEFAULT_IMDB_DIR


@dataclass(frozen=True)
class Poster:
    film: str  # "tmdb:<id>" where the TMDB id is known, else "imdb:<id>"
    path: Path
    genre: str  # the collected primary genre (TMDB), "" when there is none
    genres: tuple[str, ...]  # every genre of the five the poster carries, possibly none
    source: str = "tmdb"
    imdb_genres: tuple[str, ...] = ()  # the film's full IMDb genre list (IMDb posters only)
    cohort: str = DATA_IMDB  # where the film came from: DATA_IMDB (../shared/data-imdb), or PUBLIC (only the public set)
    title: str = ""  # the film's title and year where the folder lists them ("" when unknown)
    year: str = ""

    @property
    def tmdb_id(self) -> str:
        return self.film.removeprefix("tmdb:") if self.film.startswith("tmdb:") else ""

    def truth(self, labels: tuple[str, ...]) -> np.ndarray:
        """float32 over `labels`: 1 carried, 0 not carried, -1 unknown (a genre beyond the five on a TMDB poster)."""
        return np.array([float(genre in self.genres) if genre in FIRST_GENRES else
                         float(genre in self.imdb_genres) if self.source == "imdb" else -1.0
                         for genre in labels], dtype=np.float32)


def _split_genres(text: str) -> tuple[str, ...]:
    return tuple(g for g in FIRST_GENRES if g in text.split("|"))


def read_tmdb(data_dir: Path, primary_only: bool = True) -> list[Poster]:
    """TMDB posters; with `primary_only` (version 1's set) only those with a primary genre."""
    posters = []
    with open(Path(data_dir) / "labels.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            genre = row["genre"] if row["genre"] in FIRST_GENRES else ""
            if genre or not primary_only:
                posters.append(Poster(f"tmdb:{row['tmdb_id']}", Path(data_dir) / row["file"], genre,
                                      _split_genres(row["genres"]), "tmdb", title=row.get("title") or "",
                                      year=row.get("year") or ""))
    return posters



def read_imdb(data_dir: Path) -> list[Poster]:
    """IMDb posters with the film's genres among the five (none: a negative, kept) and its IMDb list.

    Films of the built public set that are not in ../shared/data-imdb are the PUBLIC cohort."""
    posters = []
    with open(Path(data_dir) / "labels.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            film = f"tmdb:{row['tmdb_id']}" if row["tmdb_id"] else f"imdb:{row['imdb_id']}"
            cohort = PUBLIC if row.get("in_data_imdb") == "0" else DATA_IMDB
            posters.append(Poster(film, Path(data_dir) / row["file"], "", _split_genres(row["genres"]), "imdb",
                                  tuple(g for g in row.get("imdb_genres", "").split("|") if g), cohort,
                                  row.get("title") or "", row.get("year") or ""))
    return posters


def read_all(tmdb_dir: Path, imdb_dir: Path | None) -> list[Poster]:
    """Both folders through one loader; the IMDb folder is optional."""
    posters = read_tmdb(tmdb_dir, primary_only=False)
    if imdb_dir is not None and (Path(imdb_dir) / "labels.csv").exists():
        posters += read_imdb(imdb_dir)
    return posters


def split(posters: list[Poster], val_fraction: float = FIRST_VAL_FRACTION, seed: int = 42
          ) -> tuple[list[Poster], list[Poster]]:
    """Version 1's split: stratify by primary genre, one film on one side, same answer every run."""
    films: dict[str, list[Poster]] = defaultdict(list)
    for poster in posters:
        films[poster.film].append(poster)
    by_genre: dict[str, list[str]] = defaultdict(list)
    for film_id, film_posters in sorted(films.items()):
        by_genre[film_posters[0].genre].append(film_id)
    rng = random.Random(seed)
    val_films: set[str] = set()
    for genre in sorted(by_genre):
        ids = by_genre[genre]
        rng.shuffle(ids)
        val_films.update(ids[: round(len(ids) * val_fraction)])
    train = [p for p in posters if p.film not in val_films]
    val = [p for p in posters if p.film in val_films]
    return train, val


def split_union(posters: list[Poster], imdb_val_fraction: float = IMDB_VAL_FRACTION, seed: int = 42
                ) -> tuple[list[Poster], list[Poster]]:
    """One split over every folder, by film.

    1. Version 1's split of the TMDB posters with a primary genre is kept as it is, so its
       validation posters stay in validation; TMDB posters with no primary genre train.
    2. Films of the IMDb folder that are also TMDB films follow their TMDB side.
    3. The other IMDb films of version 2 (../shared/data-imdb) are stratified by genre set, seeded,
       so that at least `imdb_val_fraction` of them are held out: version 2's split, unchanged.
    4. Of the films added from the public set, `imdb_val_fraction` are held out the same way.
    """
    tmdb_primary = [p for p in posters if p.source == "tmdb" and p.genre]
    _, first_val = split(tmdb_primary, FIRST_VAL_FRACTION, seed)
    val_films = {p.film for p in first_val}
    fixed = val_films | {p.film for p in posters if p.source == "tmdb"}
    for cohort in (DATA_IMDB, PUBLIC):
        imdb_films: dict[str, tuple[str, ...]] = {}
        for poster in posters:
            if poster.source == "imdb" and poster.cohort == cohort:
                imdb_films.setdefault(poster.film, poster.genres)
        val_films |= hold_out(imdb_films, fixed, val_films, imdb_val_fraction, seed)
    train = [p for p in posters if p.film not in val_films]
    val = [p for p in posters if p.film in val_films]
    return train, val


def hold_out(films: dict[str, tuple[str, ...]], fixed: set[str], val_films: set[str], fraction: float,
             seed: int) -> set[str]:
    """Films (keyed to their genre sets) held out so that `fraction` of them are in validation,
    counting those already there; `fixed` films are not drawn. Stratified by genre set, seeded."""
    free = sorted(f for f in films if f not in fixed)
    wanted = math.ceil(fraction * len(films)) - sum(f in val_films for f in films)
    strata: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for film in free:
        strata[films[film]].append(film)
    rng = random.Random(seed)
    held: set[str] = set()
    for genre_set, take in allocate(strata, max(wanted, 0)).items():
        chosen = strata[genre_set]
        rng.shuffle(chosen)
        held.update(chosen[:take])
    return held


def split_posters(tmdb_dir: Path, imdb_dir: Path | None, seed: int = 42
                  ) -> tuple[list[Poster], list[Poster], list[Poster]]:
    """(all, train, val) as a model is trained and validated: both folders and the split over their union."""
    posters = read_all(tmdb_dir, imdb_dir)
    return posters, *split_union(posters, seed=seed)


def tmdb_split(tmdb_dir: Path, seed: int = 42) -> tuple[list[Poster], list[Poster], list[Poster]]:
    """(all, train, val) of the TMDB posters with a collected genre, split as version 1 split them: its 218
    validation posters are the set the collected-genre accuracy (`tmdb_collected` figures) is measured on."""
    posters = read_tmdb(tmdb_dir)
    return posters, *split(posters, seed=seed)


def allocate(strata: dict[tuple[str, ...], list[str]], total: int) -> dict[tuple[str, ...], int]:
    """Split `total` over the strata in proportion to their sizes (largest remainder), in sorted order."""
    size = sum(len(films) for films in strata.values())
    quotas = {key: total * len(strata[key]) / max(size, 1) for key in sorted(strata)}
    taken = {key: math.floor(quota) for key, quota in quotas.items()}
    by_remainder = sorted(quotas, key=lambda key: taken[key] - quotas[key])
    for key in by_remainder[: total - sum(taken.values())]:
        taken[key] += 1
    return taken
