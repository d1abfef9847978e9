"""Read the words on every training and validation poster once, into a cache the words model is trained from.

    python -m train.read_words [--data-dir ../shared/data] [--imdb-dir ../posters-public] [--cache FILE]
                               [--workers 2] [--log FILE]

The cache is JSONL outside the repository, beside the IMDb poster set (`<imdb-dir>.words.jsonl` by default): one
line per poster, keyed by its file (its absolute path) and the SHA-256 of its bytes, with the engine that read it
(`poster_genre.words.engine_name()`: its version and reading settings) and the words (text, box, confidence). It is
resumable: a poster already read by the same engine from the same bytes is not read again, a poster read by another
engine (version or settings) or whose file changed is read again, and each line is written whole and flushed, so an
interrupted run loses at most the posters being read. Progress goes to stderr, a line per 500 posters and every
error to the log file.
About 29k posters take about 45 minutes on 2 cores (docs/benchmarks.md): start it first, in the background.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from poster_genre.preprocess import InvalidImageError, load_image
from poster_genre.words import SERVED, ReadingSettings, Word, engine_name, read_words
from train.data import data_dir_from_env, imdb_dir_from_env, split_posters

LOG = logging.getLogger("read_words")
Words = dict[Path, tuple[str, ...]]  # a poster file's words, most confident first


@dataclass(frozen=True)
class Reader:
    """How the posters are read: as served (`poster_genre.words.read_words` with `settings`, one thread), under the
    name its cache lines carry."""

    settings: ReadingSettings = SERVED

    @property
    def name(self) -> str:
        return engine_name(self.settings)

    def __call__(self, image: Image.Image) -> list[Word]:
        return read_words(image, 1, self.settings)


def default_cache(imdb_dir: Path) -> Path:
    """The words cache beside the IMDb poster set (outside the repository)."""
    return Path(imdb_dir).parent / f"{Path(imdb_dir).name}.words.jsonl"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_key(path: Path | str) -> tuple[str, str]:
    """A poster's key in the cache: its absolute path (however its folder was named) and the SHA-256 of its bytes."""
    return str(Path(path).resolve()), sha256(Path(path).read_bytes())


def load_cache(cache: Path, engine: str) -> dict[tuple[str, str], list[dict]]:
    """(file, sha256) -> words, of the lines the current engine wrote (the last line of a key wins)."""
    read: dict[tuple[str, str], list[dict]] = {}
    if cache.exists():
        for line in cache.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by an interrupted run
                continue
            if entry.get("engine") == engine:
                read[(entry["file"], entry["sha256"])] = entry["words"]
    return read


def words_of(cache: Path | None, posters: list, reader: Reader = Reader()) -> Words:
    """The words the cache holds for these posters (read by `reader` from these bytes); {} without a cache."""
    if cache is None or not Path(cache).exists():
        return {}
    done = load_cache(Path(cache), reader.name)
    out = {}
    for poster in posters:
        key = cache_key(poster.path)
        if key in done:
            out[Path(poster.path)] = tuple(word["text"] for word in done[key])
    return out


def read_one(path: str, reader: Reader = Reader()) -> dict:
    """One poster's cache line: its words, or the error that kept it from being read."""
    data = Path(path).read_bytes()
    entry = {"file": path, "sha256": sha256(data), "engine": reader.name}
    try:
        return {**entry, "words": [word.to_dict() for word in reader(load_image(data))]}
    except (InvalidImageError, OSError, RuntimeError, ValueError) as error:
        return {**entry, "words": [], "error": str(error)}


def to_read(posters: list[Path], cache: Path, reader: Reader = Reader()) -> list[str]:
    """The posters the cache does not hold for this reader and these bytes, in order, each once."""
    done = load_cache(cache, reader.name)
    unique = list(dict.fromkeys(str(Path(p).resolve()) for p in posters))
    return [path for path in unique if cache_key(path) not in done]


def read_all(paths: list[str], workers: int, reader: Reader = Reader()) -> Iterator[dict]:
    """Cache lines of `paths`, read by `workers` processes (one single-threaded engine each)."""
    if workers == 1:
        yield from (read_one(path, reader) for path in paths)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(read_one, paths, [reader] * len(paths), chunksize=8)


def run(posters: list[Path], cache: Path, workers: int, reader: Reader = Reader()) -> int:
    """Read what the cache lacks and append it; returns how many posters were read."""
    pending = to_read(posters, cache, reader)
    LOG.info("%d posters, %d to read with %s", len(set(map(str, posters))), len(pending), reader.name)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with open(cache, "a", encoding="utf-8") as out:
        for count, entry in enumerate(tqdm(read_all(pending, workers, reader), total=len(pending), desc="read words",
                                           unit="poster", file=sys.stderr), start=1):
            out.write(json.dumps(entry) + "\n")
            out.flush()
            if "error" in entry:
                LOG.warning("%s: %s", entry["file"], entry["error"])
            if count % 500 == 0:
                LOG.info("%d of %d read", count, len(pending))
    LOG.info("done: %d read", len(pending))
    return len(pending)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env(), help="TMDB poster folder")
    parser.add_argument("--imdb-dir", type=Path, default=imdb_dir_from_env(), help="IMDb poster folder")
    parser.add_argument("--cache", type=Path, help="the JSONL cache (default: beside the IMDb poster folder)")
    parser.add_argument("--workers", type=int, default=2, help="reading processes (default 2)")
    parser.add_argument("--log", type=Path, help="log file (default: the cache's name with .log)")
    args = parser.parse_args(argv)
    cache = args.cache or default_cache(args.imdb_dir)
    cache.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(args.log or cache.with_suffix(".log"), encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    try:
        posters, _, _ = split_posters(args.data_dir, args.imdb_dir)  # every training and validation poster
        run([p.path for p in posters], cache, max(1, args.workers))
    finally:
        LOG.removeHandler(handler)
        handler.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
