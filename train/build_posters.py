"""Build the public poster set: the posters `films.csv` lists, read from local clones of their repositories.

    python -m train.build_posters --clones DIR --out ../posters-public
    python -m train.build_posters --repo PerceptiLabs/movie_genre=PATH ... --out ../posters-public

`films.csv` (default `../shared/data-public/films.csv`) names, for every film, a file at a commit of one
public GitHub repository. A clone is found as `DIR/<name>` or `DIR/<owner>+<name>/repo`; `--repo` names
one explicitly (a work tree or a bare git directory). The output folder has `../shared/data-imdb`'s
schema: `labels.csv` and `posters/<imdb_id>.jpg`, the listed file's bytes unchanged.

Every poster must decode and be portrait (height/width 1.25-1.7, at least 150 px wide); a film whose file
is missing at its commit, or whose image is broken, is left out and named in `problems.csv`. Rebuilding is
resumable and idempotent: posters already written are checked, not read again from git. A missing
repository or commit stops the build before anything is written. Only films that `films.csv` lists are
ever added. Exit status: 0 when every film was built, 1 when some were left out, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from train.data import SHARED

FILMS_CSV = SHARED / "data-public" / "films.csv"
LABEL_COLUMNS = ("imdb_id", "tmdb_id", "title", "year", "file", "genres", "imdb_genres", "source", "in_data_imdb")
ASPECT = (1.25, 1.7)
MIN_WIDTH = 150


class BuildError(Exception):
    """A repository or commit the build cannot go without."""


@dataclass(frozen=True)
class Film:
    row: dict[str, str]

    @property
    def imdb_id(self) -> str:
        return self.row["imdb_id"]

    @property
    def repository(self) -> str:
        return self.row["repository"]

    @property
    def file(self) -> str:
        return f"posters/{self.imdb_id}.jpg"

    def label_row(self) -> dict[str, str]:
        return {**{k: self.row.get(k, "") for k in LABEL_COLUMNS}, "file": self.file,
                "source": self.repository.replace("/", "__")}


def read_films(path: Path) -> list[Film]:
    """The films `films.csv` lists, in its order; each must name an IMDb id, repository, commit and path."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    needed = {"imdb_id", "repository", "commit", "path"}
    if rows and not needed <= rows[0].keys():
        raise BuildError(f"{path} lacks the columns {sorted(needed - rows[0].keys())}")
    if len({r["imdb_id"] for r in rows}) != len(rows):
        raise BuildError(f"{path} lists a film twice")
    return [Film(r) for r in rows]


def find_clone(repository: str, clones: Path | None, explicit: dict[str, Path]) -> Path:
    """The local git directory or work tree of `owner/name`."""
    owner, name = repository.split("/", 1)
    candidates = [explicit[repository]] if repository in explicit else (
        [clones / name, clones / f"{owner}+{name}" / "repo", clones / f"{owner}+{name}"] if clones else [])
    for path in candidates:
        if git(path, "rev-parse", "--git-dir", check=False).returncode == 0:
            return path
    where = ", ".join(map(str, candidates)) or "nowhere (give --clones or --repo)"
    raise BuildError(f"no clone of {repository}: looked in {where}. "
                     f"Make one with: git clone https://github.com/{repository}")


def git(path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, check=check)


def check_commit(clone: Path, repository: str, commit: str) -> None:
    if git(clone, "cat-file", "-e", f"{commit}^{{commit}}", check=False).returncode != 0:
        raise BuildError(f"{repository} at {clone} has no commit {commit}: fetch it "
                         f"(git -C {clone} fetch origin) or clone the repository again")


class Blobs:
    """Files at commits of one repository, read through one `git cat-file --batch` process."""

    def __init__(self, clone: Path):
        self.process = subprocess.Popen(["git", "-C", str(clone), "cat-file", "--batch"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read(self, commit: str, path: str) -> bytes | None:
        """The file's bytes, or None when `path` is not a file at `commit`."""
        self.process.stdin.write(f"{commit}:{path}\n".encode())
        self.process.stdin.flush()
        header = self.process.stdout.readline().decode().split()
        if len(header) != 3 or header[1] != "blob":
            return None
        data = self.process.stdout.read(int(header[2]))
        self.process.stdout.read(1)  # the newline after the contents
        return data

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def poster_problem(data: bytes) -> str | None:
    """Why these bytes are not a usable poster, or None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        return f"does not decode ({error.__class__.__name__})"
    if width < MIN_WIDTH or not ASPECT[0] <= height / width <= ASPECT[1]:
        return f"not a portrait poster ({width}x{height})"
    return None


def write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def build_film(film: Film, out: Path, blobs: Blobs) -> str | None:
    """Write one film's poster (unless a good copy is there); the reason it was left out, or None."""
    target = out / film.file
    if target.exists() and poster_problem(target.read_bytes()) is None:
        return None
    data = blobs.read(film.row["commit"], film.row["path"])
    if data is None:
        return f"no file {film.row['path']} at {film.row['commit'][:12]}"
    problem = poster_problem(data)
    if problem is None:
        write_atomically(target, data)
    elif target.exists():
        target.unlink()
    return problem


def write_table(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(path, buffer.getvalue().encode("utf-8"))


def build(films: list[Film], out: Path, clones: Path | None, explicit: dict[str, Path]) -> dict[str, str]:
    """Build every film into `out`; returns {imdb_id: reason} for the films left out."""
    by_repository: dict[str, list[Film]] = {}
    for film in films:
        by_repository.setdefault(film.repository, []).append(film)
    found = {repo: find_clone(repo, clones, explicit) for repo in sorted(by_repository)}
    for repo, repo_films in by_repository.items():
        for commit in sorted({f.row["commit"] for f in repo_films}):
            check_commit(found[repo], repo, commit)
    (out / "posters").mkdir(parents=True, exist_ok=True)
    problems: dict[str, str] = {}
    with tqdm(total=len(films), desc="posters", unit="film", file=sys.stderr) as progress:
        for repo, repo_films in by_repository.items():
            blobs = Blobs(found[repo])
            for film in repo_films:
                if (reason := build_film(film, out, blobs)) is not None:
                    problems[film.imdb_id] = reason
                progress.update()
            blobs.close()
    built = [f.label_row() for f in films if f.imdb_id not in problems]
    write_table(out / "labels.csv", LABEL_COLUMNS, built)
    write_table(out / "problems.csv", ("imdb_id", "problem"),
                [{"imdb_id": k, "problem": v} for k, v in problems.items()])
    return problems


def repo_option(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or name.count("/") != 1:
        raise argparse.ArgumentTypeError(f"expected OWNER/NAME=PATH, got {text!r}")
    return name, Path(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--films", type=Path, default=FILMS_CSV, help="films.csv (default: %(default)s)")
    parser.add_argument("--clones", type=Path, help="folder holding the clones")
    parser.add_argument("--repo", type=repo_option, action="append", default=[], metavar="OWNER/NAME=PATH",
                        help="one repository's clone (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="the poster folder to build (outside the project)")
    args = parser.parse_args(argv)
    if not args.clones and not args.repo:
        parser.error("give --clones DIR or --repo OWNER/NAME=PATH")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        films = read_films(args.films)
        problems = build(films, args.out, args.clones, dict(args.repo))
    except (BuildError, OSError) as error:
        print(f"build_posters: {error}", file=sys.stderr)
        return 2
    print(f"{len(films) - len(problems)} of {len(films)} films built into {args.out}", file=sys.stderr)
    for reason, count in Counter(r.split(" (")[0].split(" at ")[0] for r in problems.values()).most_common():
        print(f"  left out, {reason}: {count} (see {args.out / 'problems.csv'})", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
