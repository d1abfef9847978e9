"""How the reading settings trade the words' cost against what the answers gain from them, against the reading
version 4 served (RapidOCR's own pipeline: detection side 480, every line found recognised, in batches of six
padded to the longest and to at least 320 px).

    python -m benchmarks.reading --speed [--posters 60]
    python -m benchmarks.reading --floor-speed --floors 224 192 160 [--posters 60]
    python -m benchmarks.reading --accuracy [--lines 5 12] [--floors 224 192] [--refitted artifacts/ship/model.onnx]
                                 [--workers 2] [--imdb-dir ../posters-public]

--speed: one reading of a poster, single-threaded, on IMDb thumbnails (182 px wide) and TMDB w500 posters, each
reader on the same posters in alternating blocks (`export.timing`), as a ratio of version 4's time; and the worst
cases: a screenshot of a text document, a page of small print, noise and a 37.5-megapixel poster.

--floor-speed: the served reading of thumbnails against the same with the detector's copy scaled up only to each of
--floors (px on its shorter side) rather than to 256 px.

--accuracy: the served model's answers on the IMDb validation films with a title and a year and words read as
version 4 read them (as version 4's report counted them), with the words read by each reader: five-genre mAP of
poster + words and of poster + title + year + words, each against version 4's reading on the same posters (paired
bootstrap over films); with --refitted, that model (the same image model, its words model and fusion refitted on the
served reading) against the served ones, both on the served reading. The words are cached as `train.read_words`
caches them (beside the IMDb poster folder, one line per poster and reader: resumable), the poster model's
probabilities in artifacts/.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from export.timing import median_seconds
from poster_genre import GenreClassifier
from poster_genre.analysis import file_probabilities
from poster_genre.model import default_model
from poster_genre.text import TextInput
from poster_genre.words import (
    MAX_LENGTH,
    MAX_WORDS,
    MIN_WORD_SCORE,
    SERVED,
    UnreadTextError,
    Word,
    engine_settings,
    new_engine,
    reading_copy,
)
from train.data import Poster, data_dir_from_env, imdb_dir_from_env, split_posters
from train.metrics import compare, five_genres
from train.read_words import Reader, default_cache, run, words_of

REPO = Path(__file__).resolve().parents[1]
_AS_BEFORE_ENGINE = {}


@dataclass(frozen=True)
class ReaderAsBefore(Reader):
    """Version 4's reading: RapidOCR's own pipeline at detection side 480 (`side`), every line recognised (batches
    of six, padded to the longest and to 320 px), the same confidence floor and cap; its cache name is version
    4's."""

    side: int = 480

    @property
    def name(self) -> str:
        return engine_name_as_before(self.side)

    def __call__(self, image: Image.Image) -> list[Word]:
        if self.side not in _AS_BEFORE_ENGINE:
            settings = {**engine_settings(self.side), "Rec.rec_img_shape": [3, 48, 320], "Rec.rec_batch_num": 6}
            _AS_BEFORE_ENGINE[self.side] = new_engine(settings)
        read = reading_copy(image)
        output = _AS_BEFORE_ENGINE[self.side](read.convert("RGB"))
        boxes = output.boxes if output.boxes is not None else ()
        words = [Word(text.strip()[:MAX_LENGTH], tuple((float(x), float(y)) for x, y in box), round(float(score), 4))
                 for text, score, box in zip(output.txts or (), output.scores or (), boxes)
                 if text.strip() and score >= MIN_WORD_SCORE]
        ranked = sorted(words, key=lambda word: -word.confidence)[:MAX_WORDS]
        return [word.scaled(image.width / read.width) for word in ranked]


def engine_name_as_before(side: int = 480) -> str:
    from importlib import metadata

    return f"rapidocr {metadata.version('rapidocr')}, detection side {side}, no angle classifier"


def each_change() -> dict[str, Reader]:
    """Version 4's reading, then each change to it in turn, ending with the served reading."""
    return {"version 4 (baseline)": ReaderAsBefore(),
            "+ the detector at 256 px": ReaderAsBefore(side=SERVED.detection_side),
            "+ each line recognised alone at its own length": Reader(replace(SERVED, max_lines=None,
                                                                              total_heights=float("inf"))),
            "+ at most 24 heights a line, 64 in all": Reader(replace(SERVED, max_lines=None)),
            "+ the 8 tallest lines (served)": Reader()}


def readers(lines: list[int], floors: list[int]) -> dict[str, Reader]:
    """Version 4's reading, the served one and the served one with other caps on the lines recognised or other
    detection floors."""
    out: dict[str, Reader] = {"version 4 (baseline)": ReaderAsBefore(), "served": Reader()}
    for count in lines:
        if count != SERVED.max_lines:
            out[f"the {count} tallest lines"] = Reader(replace(SERVED, max_lines=count))
    return {**out, **floor_readers(floors)}


def floor_readers(floors: list[int]) -> dict[str, Reader]:
    """The served reading with the detector's copy scaled up only to each of `floors` (the served floor left out)."""
    return {f"detection floor {floor}": Reader(replace(SERVED, detection_floor=floor))
            for floor in floors if floor != SERVED.detection_floor}


def words_or_none(reader: Callable[[Image.Image], list[Word]], image: Image.Image) -> list[Word]:
    """What `reader` reads, or nothing where it found text it could not read."""
    try:
        return reader(image)
    except UnreadTextError:
        return []


def sample(folder: Path, count: int, seed: int = 0) -> list[Image.Image]:
    files = sorted(Path(folder).rglob("*.jpg"))
    random.Random(seed).shuffle(files)
    return [Image.open(path).convert("RGB") for path in files[:count]]


def worst_cases() -> dict[str, Image.Image]:
    """Images that make a reader work hardest: a text document's screenshot, small print, noise, 37.5 megapixels."""
    from benchmarks.hard_images import dense_small_print, noise_image, text_screenshot

    poster = sample(data_dir_from_env(), 1, seed=1)[0]
    return {"text screenshot": text_screenshot(), "small print": dense_small_print(), "noise": noise_image(),
            "37.5-megapixel poster": poster.resize((5000, 7500), Image.Resampling.BILINEAR)}


def reading_seconds(chosen: dict[str, Reader], images: list[Image.Image]) -> dict[str, float]:
    """Each reader's median seconds to read all of `images`, one thread, in alternating blocks."""
    runs = {reader: (lambda r=r: [words_or_none(r, image) for image in images]) for reader, r in chosen.items()}
    return median_seconds(runs, repeats=4, block=2, warmup=1)


def speed(posters: int) -> None:
    chosen = each_change()
    print(f"served: {SERVED.name}")
    sets = {"IMDb thumbnails": sample(imdb_dir_from_env(), posters), "TMDB w500": sample(data_dir_from_env(), posters)}
    for name, images in sets.items():
        seconds = reading_seconds(chosen, images)
        base, before = seconds["version 4 (baseline)"], None
        print(f"{name}, {posters} posters, one thread, ms a poster (as fast as version 4; as the step before):")
        for reader, s in seconds.items():
            step = f"; {before / s:.2f}x" if before else ""
            print(f"  {reader}: {1000 * s / posters:.0f} ({base / s:.2f}x{step})")
            before = s
    for name, image in worst_cases().items():
        runs = {reader: (lambda r=r, shown=image: words_or_none(r, shown)) for reader, r in chosen.items()}
        seconds = median_seconds(runs, repeats=2, block=1, warmup=1)
        print(f"{name}: " + "; ".join(f"{reader} {s:.2f} s" for reader, s in seconds.items()
                                      if reader in ("version 4 (baseline)", "+ the 8 tallest lines (served)")))


def floor_speed(images: list[Image.Image], floors: list[int]) -> None:
    """The served reading of thumbnails against the same with the detector's copy scaled up to lower floors."""
    seconds = reading_seconds({"served": Reader(), **floor_readers(floors)}, images)
    print(f"IMDb thumbnails, {len(images)} posters, one thread, ms a poster (as fast as served):")
    for reader, s in seconds.items():
        print(f"  {reader}: {1000 * s / len(images):.0f} ({seconds['served'] / s:.2f}x)")


def accuracy(lines: list[int], floors: list[int], workers: int, data_dir: Path, imdb_dir: Path,
             refitted: Path | None = None) -> None:
    _, _, val = split_posters(data_dir, imdb_dir)
    val = [p for p in val if p.source == "imdb" and p.title and p.year]
    cache = default_cache(imdb_dir)
    chosen = readers(lines, floors)
    words = {}
    for name, reader in chosen.items():
        run([p.path for p in val], cache, workers, reader)
        words[name] = words_of(cache, val, reader)
    kept = [p for p in val if words["version 4 (baseline)"].get(p.path)]
    classifier = GenreClassifier(default_model())
    poster = poster_probabilities(classifier, kept)
    print(f"{len(kept)} IMDb validation films with a title, a year and words read by version 4")
    answers = {name: {mode: fused(classifier, kept, poster, found, mode) for mode in ("words", "title+year+words")}
               for name, found in words.items()}
    base = answers["version 4 (baseline)"]
    for name, modes in answers.items():
        with_words = sum(bool(words[name].get(p.path)) for p in kept)
        for mode, probabilities in modes.items():
            said(f"{name}, poster + {mode}", kept, probabilities, base[mode], "version 4's reading",
                 classifier.labels, f" ({with_words} posters with words)")
    if refitted is not None:
        other = GenreClassifier(refitted)  # the same image model, another words model and fusion
        for mode in ("words", "title+year+words"):
            said(f"{refitted}, the served reading, poster + {mode}", kept,
                 fused(other, kept, poster, words["served"], mode), answers["served"][mode], "the served models",
                 classifier.labels)


def said(name: str, posters: list[Poster], ours: np.ndarray, theirs: np.ndarray, baseline: str, labels: tuple,
         note: str = "") -> None:
    """Print five-genre mAP of `ours` against `theirs` on the same posters (paired bootstrap over films)."""
    figures = compare(posters, five_genres(ours, labels), five_genres(theirs, labels))["imdb_mAP"]
    print(f"{name}: mAP {figures['ours']} (SE {figures['se_ours']}) against {baseline} {figures['theirs']}: "
          f"{figures['difference']:+.4f}, {figures['standard_errors_apart']} SE{note}")


def fused(classifier: GenreClassifier, posters: list[Poster], poster: np.ndarray, words: dict, mode: str
          ) -> np.ndarray:
    """The served answers with the words (and with the title and year in that mode)."""
    rows = []
    for p, probabilities in zip(posters, poster):
        text = TextInput.of(p.title, p.year) if mode.startswith("title") else TextInput()
        rows.append(classifier.fuse(probabilities, classifier.usable(text.with_words(words.get(p.path, ())))))
    return np.stack(rows)


def poster_probabilities(classifier: GenreClassifier, posters: list[Poster]) -> np.ndarray:
    """The poster model's probabilities, cached under artifacts/ by model and posters."""
    import hashlib

    key = hashlib.sha256((str(classifier.path) + "".join(str(p.path) for p in posters)).encode()).hexdigest()[:16]
    saved = REPO / "artifacts" / f"reading-poster-probabilities-{key}.npy"
    if saved.exists():
        return np.load(saved)
    probabilities = file_probabilities(classifier, [p.path for p in posters])
    saved.parent.mkdir(parents=True, exist_ok=True)
    np.save(saved, probabilities)
    return probabilities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--floor-speed", action="store_true", help="the served reading of thumbnails against --floors")
    parser.add_argument("--posters", type=int, default=60)
    parser.add_argument("--lines", type=int, nargs="*", default=[], help="other caps on the lines recognised")
    parser.add_argument("--floors", type=int, nargs="*", default=[], help="other detection floors (px)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--refitted", type=Path, help="a model.onnx whose words model was refitted (export.ship "
                        "--words-only), against the served one on the served reading")
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--imdb-dir", type=Path, default=imdb_dir_from_env())
    args = parser.parse_args()
    if args.speed:
        speed(args.posters)
    if args.floor_speed:
        floor_speed(sample(imdb_dir_from_env(), args.posters), args.floors)
    if args.accuracy:
        accuracy(args.lines, args.floors, args.workers, args.data_dir, args.imdb_dir, args.refitted)


if __name__ == "__main__":
    main()
