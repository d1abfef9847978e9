"""Build a poster training set from TMDB's discover API.

    python -m train.fetch_posters --api-key KEY --out DIR --per-genre N [--genres Action Drama ...]
    python -m train.fetch_posters --examples examples --per-genre 1        # fill the app's examples

Writes DIR/posters/<tmdb_id>.jpg and DIR/labels.csv (the schema of ../shared/data/labels.csv):
`genre` is the genre a film was collected under, `genres` every one of the five that TMDB lists.
With --examples the posters go flat into the folder as <genre>_<tmdb_id>.jpg, at TMDB's w342 size
(the widest a committed example may be); training posters are w500.

Rerunning resumes: films already in labels.csv whose file decodes are never downloaded again.
Every download is validated (decodes, sane size) and written atomically; HTTP 429 is honoured
with Retry-After, transient errors are retried with backoff; the API key never reaches a log.
The key comes from --api-key or TMDB_API_KEY.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from tqdm import tqdm

from poster_genre.preprocess import InvalidImageError, load_image
from poster_genre.rules import FIRST_GENRES

TMDB_GENRE_IDS = {"Action": 28, "Comedy": 35, "Drama": 18, "Romance": 10749, "Thriller": 53}
API_BASE = "https://api.themoviedb.org/3"
IMAGE_BASE = "https://image.tmdb.org/t/p"
TRAINING_SIZE = "w500"  # TMDB image size of training posters
EXAMPLE_SIZE = "w342"  # examples are committed, so at most 342 px wide
MIN_SIDE, MAX_SIDE = 100, 4000
TRANSIENT = {500, 502, 503, 504}


class FetchError(RuntimeError):
    """A request that failed for good (after retries, or with a non-transient status)."""


@dataclass
class Http:
    """GET with timeouts, Retry-After on 429, exponential backoff on transient errors, key redacted."""

    api_key: str
    timeout: float = 20.0
    retries: int = 4
    backoff: float = 1.0
    session: requests.Session = field(default_factory=requests.Session)

    def get(self, url: str, params: dict | None = None) -> requests.Response:
        for attempt in range(self.retries + 1):
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
                if response.status_code == 429:
                    self._wait(float(response.headers.get("Retry-After", self.backoff * 2 ** attempt)))
                    continue
                if response.status_code in TRANSIENT:
                    raise FetchError(f"HTTP {response.status_code}")
                if response.status_code != 200:
                    raise FetchError(f"HTTP {response.status_code} for {self.redact(url)}")
                _ = response.content  # read the whole body now, so a cut connection fails here
                return response
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    FetchError) as error:
                if isinstance(error, FetchError) and not str(error).startswith("HTTP 5"):
                    raise
                if attempt == self.retries:
                    raise FetchError(f"{self.redact(str(error))} for {self.redact(url)}") from None
                self._wait(self.backoff * 2 ** attempt)
        raise FetchError(f"still rate limited after {self.retries + 1} attempts: {self.redact(url)}")

    def redact(self, text: str) -> str:
        return text.replace(self.api_key, "***") if self.api_key else text

    @staticmethod
    def _wait(seconds: float) -> None:
        time.sleep(max(0.0, min(seconds, 60.0)))


@dataclass
class Store:
    """The output folder: posters, labels.csv, and what is already there (for resuming)."""

    root: Path
    flat: bool = False  # --examples layout: <genre>_<id>.jpg beside labels.csv
    rows: dict[str, dict] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        (self.root if self.flat else self.root / "posters").mkdir(parents=True, exist_ok=True)
        labels = self.root / "labels.csv"
        if labels.exists():
            with open(labels, newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    path = self.root / row["file"]
                    if path.exists() and _valid(path.read_bytes()):
                        self.rows[row["tmdb_id"]] = row
                        self.hashes[hashlib.sha256(path.read_bytes()).hexdigest()] = row["tmdb_id"]

    def relative_path(self, tmdb_id: str, genre: str) -> str:
        return f"{genre.lower()}_{tmdb_id}.jpg" if self.flat else f"posters/{tmdb_id}.jpg"

    def count(self, genre: str) -> int:
        return sum(row["genre"] == genre for row in self.rows.values())

    def add(self, tmdb_id: str, genre: str, genres: list[str], image: bytes, title: str = "", year: str = "") -> None:
        relative = self.relative_path(tmdb_id, genre)
        _write_atomically(self.root / relative, image)
        self.rows[tmdb_id] = {"tmdb_id": tmdb_id, "file": relative, "genre": genre, "genres": "|".join(genres),
                              "title": title, "year": year}
        self.hashes[hashlib.sha256(image).hexdigest()] = tmdb_id
        self.save()

    def drop(self, tmdb_id: str) -> None:
        row = self.rows.pop(tmdb_id)
        (self.root / row["file"]).unlink(missing_ok=True)

    def save(self) -> None:
        lines = [list(COLUMNS)] + [[r.get(column, "") for column in COLUMNS] for r in self.rows.values()]
        temporary = self.root / ".labels.csv.part"
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(lines)
        os.replace(temporary, self.root / "labels.csv")


COLUMNS = ("tmdb_id", "file", "genre", "genres", "title", "year")  # ../shared/data's schema, title and year included


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _valid(image: bytes) -> bool:
    """Decodes fully and has a sane poster size."""
    try:
        width, height = load_image(image).size
    except InvalidImageError:
        return False
    return MIN_SIDE <= min(width, height) and max(width, height) <= MAX_SIDE


@dataclass
class Report:
    downloaded: int = 0
    resumed: int = 0
    invalid: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (dropped id, kept id)
    failed: list[str] = field(default_factory=list)


def fetch_genre(http: Http, store: Store, genre: str, per_genre: int, report: Report,
                api_base: str, image_base: str, max_pages: int) -> None:
    """Page through discover for `genre` until `per_genre` posters are collected under it."""
    with tqdm(total=per_genre, initial=min(store.count(genre), per_genre), desc=genre, unit="poster",
              file=sys.stderr) as bar:
        page, pages = 1, 1
        while store.count(genre) < per_genre and page <= min(pages, max_pages):
            listing = http.get(f"{api_base}/discover/movie", {
                "api_key": http.api_key, "with_genres": TMDB_GENRE_IDS[genre], "sort_by": "popularity.desc",
                "include_adult": "false", "page": page}).json()
            pages = int(listing.get("total_pages", 1))
            for film in listing.get("results", []):
                if store.count(genre) >= per_genre:
                    break
                tmdb_id, poster_path = str(film["id"]), film.get("poster_path")
                if not poster_path or tmdb_id in store.rows:
                    report.resumed += tmdb_id in store.rows
                    continue
                try:
                    size = EXAMPLE_SIZE if store.flat else TRAINING_SIZE
                    image = http.get(f"{image_base}/{size}{poster_path}").content
                except FetchError as error:
                    report.failed.append(f"{tmdb_id}: {error}")
                    continue
                if not _valid(image):
                    report.invalid.append(tmdb_id)
                    continue
                twin = store.hashes.get(hashlib.sha256(image).hexdigest())
                if twin is not None:
                    report.duplicates.append((tmdb_id, twin))
                    continue
                genres = [g for g in FIRST_GENRES if TMDB_GENRE_IDS[g] in film.get("genre_ids", [])] or [genre]
                store.add(tmdb_id, genre, genres if genre in genres else [genre, *genres], image,
                          film.get("title") or "", (film.get("release_date") or "")[:4])
                report.downloaded += 1
                bar.update()
            page += 1


def balance(store: Store, genres: list[str]) -> None:
    """Keep the same number of posters for every genre: the smallest count."""
    smallest = min(store.count(g) for g in genres)
    for genre in genres:
        for tmdb_id in [i for i, r in store.rows.items() if r["genre"] == genre][smallest:]:
            store.drop(tmdb_id)
    store.save()


def fetch(api_key: str, out: Path, per_genre: int, genres: list[str], *, flat: bool = False,
          balanced: bool = False, api_base: str = API_BASE, image_base: str = IMAGE_BASE,
          max_pages: int = 50, http: Http | None = None) -> Report:
    """Collect `per_genre` posters for each of `genres` into `out`; safe to rerun."""
    http = http or Http(api_key)
    store, report = Store(out, flat), Report()
    for genre in genres:
        fetch_genre(http, store, genre, per_genre, report, api_base.rstrip("/"), image_base.rstrip("/"), max_pages)
    if balanced:
        balance(store, genres)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api-key", default=os.environ.get("TMDB_API_KEY"), help="or TMDB_API_KEY")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="training set folder")
    target.add_argument("--examples", type=Path, help="app examples folder (flat <genre>_<id>.jpg)")
    parser.add_argument("--per-genre", type=int, required=True)
    parser.add_argument("--genres", nargs="+", choices=FIRST_GENRES, default=list(FIRST_GENRES))
    parser.add_argument("--balanced", action="store_true", help="trim every genre to the smallest count")
    parser.add_argument("--api-base", default=os.environ.get("TMDB_API_BASE", API_BASE))
    parser.add_argument("--image-base", default=os.environ.get("TMDB_IMAGE_BASE", IMAGE_BASE))
    parser.add_argument("--max-pages", type=int, default=50, help="discover pages per genre at most")
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("a TMDB API key is needed: --api-key KEY or TMDB_API_KEY")
    report = fetch(args.api_key, args.out or args.examples, args.per_genre, args.genres,
                   flat=args.examples is not None, balanced=args.balanced, api_base=args.api_base,
                   image_base=args.image_base, max_pages=args.max_pages, http=Http(args.api_key, args.timeout))
    print(f"downloaded {report.downloaded}, already there {report.resumed}, invalid {len(report.invalid)}, "
          f"duplicates dropped {len(report.duplicates)}, failed {len(report.failed)}", file=sys.stderr)
    for dropped, kept in report.duplicates:
        print(f"duplicate image: film {dropped} has the same poster bytes as film {kept}; dropped", file=sys.stderr)
    for failure in report.failed:
        print(f"failed: {failure}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
