"""The splits: version 1's TMDB split, and the cross-source split over both folders."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from poster_genre.rules import FIRST_GENRES
from tests.conftest import (
    DATA_DIR,
    make_dataset,
    make_imdb_dataset,
    needs_both,
    needs_data,
)
from train.data import (
    DATA_IMDB,
    DEFAULT_IMDB_DIR,
    DEFAULT_PUBLIC_DIR,
    PUBLIC,
    Poster,
    read_all,
    read_imdb,
    read_tmdb,
    split,
    split_union,
    tmdb_split,
)


def posters_with_repeated_films() -> list[Poster]:
    """200 films, some with several posters (re-releases), genres unevenly spread."""
    posters = []
    for film in range(200):
        genre = FIRST_GENRES[(film * film) % len(FIRST_GENRES)]
        for copy in range(1 + film % 3):
            posters.append(Poster(f"tmdb:{film}", Path(f"{film}_{copy}.jpg"), genre, (genre,)))
    return posters


def both_sources() -> list[Poster]:
    """TMDB films 0..199 plus 1,000 IMDb films; IMDb films 0..59 are also TMDB films 0..59."""
    posters = posters_with_repeated_films()
    for film in range(1000):
        key = f"tmdb:{film}" if film < 60 else f"imdb:tt{film}"
        genres = tuple(g for bit, g in enumerate(FIRST_GENRES) if (film * 7 + 3) >> bit & 1 and film % 9)
        posters.append(Poster(key, Path(f"tt{film}.jpg"), "", genres, "imdb"))
    return posters


def films(posters: list[Poster]) -> set[str]:
    return {p.film for p in posters}


def test_no_film_on_both_sides():
    train, val = split(posters_with_repeated_films())
    assert not films(train) & films(val)
    assert len(train) + len(val) == len(posters_with_repeated_films())


def test_each_genre_is_split_in_proportion():
    posters = posters_with_repeated_films()
    genre_of = {p.film: p.genre for p in posters}
    _, val = split(posters, val_fraction=0.2)
    val_films = Counter(genre_of[i] for i in films(val))
    for genre, total in Counter(genre_of.values()).items():
        assert abs(val_films[genre] - 0.2 * total) <= 1


def test_split_is_deterministic_and_seeded():
    posters = posters_with_repeated_films()
    assert split(posters, seed=7) == split(list(posters), seed=7)
    assert split(posters, seed=7)[1] != split(posters, seed=8)[1]


def test_cross_source_split_keeps_films_whole_and_v1_validation_in_validation():
    posters = both_sources()
    train, val = split_union(posters)
    assert not films(train) & films(val)
    assert len(train) + len(val) == len(posters)
    _, v1_val = split([p for p in posters if p.source == "tmdb"])
    assert set(v1_val) <= set(val)
    for poster in posters:  # an IMDb film that is also a TMDB film follows the TMDB side
        if poster.source == "imdb" and poster.film in films(v1_val):
            assert poster in val


def test_cross_source_split_holds_out_fifteen_percent_of_imdb_stratified_by_genre_set():
    posters = both_sources()
    _, val = split_union(posters)
    imdb = {p.film: p.genres for p in posters if p.source == "imdb"}
    held = {p.film for p in val if p.source == "imdb"}
    assert 0.15 <= len(held) / len(imdb) < 0.17
    free = {f: g for f, g in imdb.items() if not f.startswith("tmdb:")}
    for genre_set, total in Counter(free.values()).items():
        held_here = sum(1 for f in held if f in free and free[f] == genre_set)
        assert abs(held_here - 0.15 * total) <= 2, genre_set
    assert any(not p.genres for p in val)  # negatives are kept, not skipped


def test_cross_source_split_is_deterministic_and_seeded():
    posters = both_sources()
    assert split_union(posters, seed=3) == split_union(list(posters), seed=3)
    assert split_union(posters, seed=3)[1] != split_union(posters, seed=4)[1]


def test_one_loader_reads_both_schemas(tmp_path):
    tmdb, imdb = make_dataset(tmp_path / "tmdb"), make_imdb_dataset(tmp_path / "imdb")
    posters = read_all(tmdb, imdb)
    assert Counter(p.source for p in posters) == {"tmdb": 40, "imdb": 30}
    assert all(p.path.exists() for p in posters)
    shared = [p for p in read_imdb(imdb) if p.film.startswith("tmdb:")]
    assert len(shared) == 6 and {p.film for p in shared} <= {p.film for p in read_tmdb(tmdb)}
    assert any(not p.genres for p in posters if p.source == "imdb")
    assert read_all(tmdb, tmp_path / "absent") == read_tmdb(tmdb, primary_only=False)


@needs_data
def test_shared_data_split():
    posters = read_tmdb(DATA_DIR)
    train, val = split(posters)
    assert len(posters) == 1088  # 1,107 posters minus 19 without a primary genre
    assert len(val) == 218  # version 1's validation posters
    assert not films(train) & films(val)


@needs_both
def test_shared_cross_source_split():
    posters = read_all(DATA_DIR, DEFAULT_IMDB_DIR)
    train, val = split_union(posters)
    assert len(posters) == 1107 + 9497
    assert not films(train) & films(val)
    _, _, v1_val = tmdb_split(DATA_DIR)
    assert {p.path for p in v1_val} <= {p.path for p in val}
    imdb_films = {p.film for p in posters if p.source == "imdb"}
    assert len({p.film for p in val if p.source == "imdb"}) >= 0.15 * len(imdb_films)
    assert split_union(read_all(DATA_DIR, DEFAULT_IMDB_DIR)) == (train, val)


@pytest.mark.skipif(not (DEFAULT_PUBLIC_DIR / "labels.csv").exists(),
                    reason=f"the public poster set is not built at {DEFAULT_PUBLIC_DIR} (python -m train.build_posters)")
@needs_both
def test_the_public_set_keeps_version_2s_split_and_holds_out_fifteen_percent_of_the_new_films():
    def names(posters):
        return {(p.source, p.path.name) for p in posters}

    _, v2_val = split_union(read_all(DATA_DIR, DEFAULT_IMDB_DIR))
    train, val = split_union(read_all(DATA_DIR, DEFAULT_PUBLIC_DIR))
    assert names(v2_val) == names(p for p in val if p.cohort == DATA_IMDB)  # every v2 validation poster, and no other
    assert not films(train) & films(val)
    new = {p.film for p in train + val if p.cohort == PUBLIC}
    assert 0.15 <= len({p.film for p in val if p.cohort == PUBLIC}) / len(new) < 0.16
    horror = [p for p in val if "Horror" in p.imdb_genres]
    assert horror and all(p.truth(("Action", "Horror"))[1] == 1 for p in horror)
    assert all(p.truth(("Horror",))[0] == -1 for p in val if p.source == "tmdb")  # unknown, not absent
