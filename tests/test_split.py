"""The train/validation split: no film on both sides, stratified, deterministic."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from poster_genre.labels import GENRES
from tests.conftest import DATA_DIR, needs_data
from train.data import Poster, read_posters, split


def posters_with_repeated_films() -> list[Poster]:
    """200 films, some with several posters (re-releases), genres unevenly spread."""
    posters = []
    for film in range(200):
        genre = GENRES[(film * film) % len(GENRES)]
        for copy in range(1 + film % 3):
            posters.append(Poster(str(film), Path(f"{film}_{copy}.jpg"), genre, (genre,)))
    return posters


def test_no_film_on_both_sides():
    train, val = split(posters_with_repeated_films())
    assert not {p.tmdb_id for p in train} & {p.tmdb_id for p in val}
    assert len(train) + len(val) == len(posters_with_repeated_films())


def test_each_genre_is_split_in_proportion():
    posters = posters_with_repeated_films()
    films = {p.tmdb_id: p.genre for p in posters}
    _, val = split(posters, val_fraction=0.2)
    val_films = Counter(films[i] for i in {p.tmdb_id for p in val})
    for genre, total in Counter(films.values()).items():
        assert abs(val_films[genre] - 0.2 * total) <= 1


def test_split_is_deterministic_and_seeded():
    posters = posters_with_repeated_films()
    assert split(posters, seed=7) == split(list(posters), seed=7)
    assert split(posters, seed=7)[1] != split(posters, seed=8)[1]


@needs_data
def test_shared_data_split():
    posters = read_posters(DATA_DIR)
    train, val = split(posters)
    assert len(posters) == 1088  # 1,107 posters minus 19 without a primary genre
    assert not {p.tmdb_id for p in train} & {p.tmdb_id for p in val}
    assert 0.19 < len(val) / len(posters) < 0.21
