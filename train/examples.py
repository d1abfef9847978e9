"""Fill the app's examples folder with held-out posters, one (or more) per genre.

    python -m train.examples [--data-dir ../shared/data] [--out examples] [--per-genre 1]

Validation posters only, so the examples are posters the model never trained on.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from poster_genre.labels import GENRES
from train.data import data_dir_from_env, read_posters, split

REPO = Path(__file__).resolve().parents[1]


def fill_examples(data_dir: Path, out: Path, per_genre: int = 1) -> list[Path]:
    """Copy `per_genre` validation posters of each genre into `out` as <genre>_<tmdb_id>.jpg."""
    _, val = split(read_posters(data_dir))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for genre in GENRES:
        for poster in [p for p in val if p.genre == genre][:per_genre]:
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
