"""Batch tagging for catalogues.

    poster-genre classify PATH... [--top-k K|all] [--min-confidence P] [--output FILE | --format jsonl|csv]
                                  [--explain DIR] [--ray [ADDRESS]]
    (or: python -m poster_genre classify ...)

Writes one record per image: `file`, `labels` (genres with confidences, most likely first, each with
its threshold: null for a genre served as a probability only, never tagged), `genres` (the tag set:
genres at or above their thresholds, possibly none), `needs_review` (top confidence below P, or an
image unlike a film poster: a blank, a placeholder, a screenshot, noise) and `review_reason`. An unreadable
file gets a record with an `error` instead of stopping the run. PATHs are files, folders (walked
for image files), object-store prefixes (`s3://bucket/posters/`, `gs://...`, through pyarrow) or
catalogue CSVs: a `file` column (relative to the CSV's folder, or absolute) and optional `title`
and `year` columns, each row's poster classified with its title and year; a catalogue row's record
also carries `catalogue`, `row` (the header is row 1) and the row's other columns (a column named
like a record field gets a `catalogue_` prefix), and a row that cannot be used gets an error record
naming the row. Each record's `inputs` says what it rests on. Files in a walked folder that are
not images by their suffix are listed on stderr as skipped.
Records go to stdout, or to --output (JSONL, CSV or Parquet by its suffix; with --ray, a path
without one of those suffixes is a folder of parallel files in --format). Progress goes to stderr.
The model is --model, else $POSTER_GENRE_MODEL, else the model bundled with the package.

--ray runs the same analysis on a Ray cluster: a local one without ADDRESS, else `auto` or a
`ray://host:10001` address (pip install "poster-genre[ray]").

Exit status: 0 when every input was classified, 1 when any could not be (its record says why;
the others are still written), 2 for a usage error (bad option, no model, nothing to classify).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from tqdm import tqdm

from poster_genre import __version__
from poster_genre.analysis import Analysis
from poster_genre.classifier import GenreClassifier
from poster_genre.explain import overlay
from poster_genre.inputs import Entry, carried_columns, find_entries, is_uri
from poster_genre.model import ModelNotFoundError, default_model
from poster_genre.preprocess import IMAGE_SUFFIXES
from poster_genre.records import FORMATS, format_for, parquet_modules, records_of, write
from poster_genre.rules import MIN_CONFIDENCE


def classify(classifier: GenreClassifier, entries: list[Entry], top_k: int, min_confidence: float,
             batch_size: int = 16, explain_dir: Path | None = None, read_words: bool = False) -> Iterator[dict]:
    """One record per file, in order, from the package's one analysis path, `batch_size` posters a run, with
    the words on each poster read when `read_words`.

    With `explain_dir`, the top genre's activation map over each poster is written there as a PNG
    and the record names it in `explanation`.
    """
    written: set[Path] = set()  # heatmaps of this run: a rerun overwrites its own files instead of adding more
    for start in range(0, len(entries), batch_size):
        for item, result in records_of(classifier, entries[start:start + batch_size], top_k, min_confidence,
                                       read_words):
            if explain_dir is not None and isinstance(result, Analysis):
                target = write_explanation(classifier, result, Path(item["file"]), explain_dir, written)
                item["explanation"] = str(target)
            yield item


def write_explanation(classifier: GenreClassifier, analysis: Analysis, file: Path, folder: Path,
                      written: set[Path]) -> Path:
    """The top genre's heat over the poster as `<folder>/<stem>_<genre>.png`; a second poster of this run with
    the same name gets `-2`, `-3`, ...; a file left by an earlier run is overwritten."""
    index = int(np.argmax(analysis.probabilities))
    heat = overlay(classifier, analysis.image, analysis.maps, index)
    base = f"{file.stem}_{classifier.labels[index].lower()}"
    target, number = folder / f"{base}.png", 2
    while target in written:
        target, number = folder / f"{base}-{number}.png", number + 1
    heat.save(target)
    written.add(target)
    return target


def progress(records: Iterable[dict], total: int) -> Iterator[dict]:
    """Pass records through while drawing a progress bar on stderr."""
    with tqdm(total=total, desc="classify", unit="poster", file=sys.stderr) as bar:
        for item in records:
            bar.update()
            yield item


def program_name() -> str:
    """`poster-genre` when run as the console script, else `python -m poster_genre`."""
    return "poster-genre" if os.path.basename(sys.argv[0]) == "poster-genre" else "python -m poster_genre"


def at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def top_k_option(text: str) -> int | str:
    """A whole number of genres, at least 1, or `all` (checked against the model's genres once it is loaded)."""
    return "all" if text.strip().lower() == "all" else at_least_one(text)


def checked_top_k(top_k: int | str, classifier: GenreClassifier, run: argparse.ArgumentParser) -> int:
    """--top-k as a number of genres this model has (its card's genre list)."""
    try:
        return classifier.top_k_count(top_k)
    except ValueError:
        run.error(f"--top-k: this model has {len(classifier.labels)} genres; give 1 to {len(classifier.labels)}, "
                  "or all")


RAY_ADDRESS = re.compile(r"^(local|auto|[a-z][a-z0-9+.-]*://\S+|[\w.-]+:\d+)$")


def checked_read_words(asked: bool | None, classifier: GenreClassifier, run: argparse.ArgumentParser) -> bool:
    """Whether to read the words: as asked, else when the model can use them (`GenreModel.words_wanted`); a usage
    error when asked for without the OCR engine; a note when they would be read but not used."""
    wanted = classifier.words_wanted(asked)
    if wanted and asked:
        from poster_genre.words import words_available

        if not words_available():
            run.error('--read-words needs the OCR engine: pip install "poster-genre[words]"')
        if not classifier.reads_words:
            print(f"{program_name()}: note: the model at {classifier.path} has no words model; the words are read "
                  "and recorded but the answers do not use them.", file=sys.stderr)
    return wanted


def ray_address(text: str) -> str:
    """--ray's address: `auto`, `ray://host:port` or `host:port` (a poster path here is a misplaced argument)."""
    if not RAY_ADDRESS.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Ray address (auto, ray://host:10001 or host:port); to use a local Ray, put --ray "
            "after the paths or write --ray=auto")
    return text


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=program_name(), description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("classify", help="tag poster files, folders or object-store prefixes")
    run.add_argument("paths", nargs="+", metavar="PATH",
                     help="poster files, folders walked recursively for image files, s3:// / gs:// prefixes, or "
                          "catalogue CSVs (a file column, optional title and year columns)")
    run.add_argument("--top-k", type=top_k_option, default=3, metavar="K",
                     help="genres listed per poster, most likely first: 1 to the model's number of genres, or all "
                          "(default 3)")
    run.add_argument("--format", choices=FORMATS, default="jsonl",
                     help="output format on stdout or in an --output folder (default jsonl; a file's suffix wins)")
    run.add_argument("--output", metavar="PATH",
                     help="write records here instead of stdout: .jsonl, .csv or .parquet (with --ray, another "
                          "name is a folder of parallel files)")
    run.add_argument("--min-confidence", type=fraction, default=MIN_CONFIDENCE, metavar="P",
                     help=f"needs_review when the top confidence is below P, 0..1 (default {MIN_CONFIDENCE:g}); "
                          "an image unlike a film poster needs review whatever its confidence")
    run.add_argument("--read-words", action=argparse.BooleanOptionalAction,
                     help="read the words printed on each poster (OCR, about 0.3 s a poster) and use them where the "
                          "model can (default: on when the model's text model has a words model)")
    run.add_argument("--model", type=Path,
                     help="ONNX model (default: $POSTER_GENRE_MODEL, else the model bundled with the package)")
    run.add_argument("--batch-size", type=at_least_one, default=16, help="posters per inference call (default 16)")
    run.add_argument("--threads", type=at_least_one,
                     help="onnxruntime threads (default: $POSTER_GENRE_THREADS or all cores; with --ray, per actor, "
                          "default 1)")
    run.add_argument("--explain", type=Path, metavar="DIR",
                     help="write the top genre's heatmap over each poster as a PNG into DIR (not with --ray)")
    run.add_argument("--ray", nargs="?", const="local", type=ray_address, metavar="ADDRESS",
                     help="run on a Ray cluster: a local one without ADDRESS, else `auto` or ray://host:port")
    run.add_argument("--actors", type=at_least_one,
                     help="with --ray: model-holding actors (default: the cluster's CPUs / --threads)")
    run.set_defaults(usage=run)
    return top


def main(argv: list[str] | None = None) -> int:
    arguments = parser()
    args = arguments.parse_args(argv)
    run = args.usage  # errors below show `classify`'s usage
    fmt = format_for(args.output, args.format) if args.output else args.format
    if fmt == "parquet" and not args.output:
        run.error("Parquet is written to a file or folder: give --output PATH")
    if fmt == "parquet":
        try:
            parquet_modules()
        except ImportError as error:
            run.error(str(error))
    if args.output and not is_uri(args.output) and format_for(args.output, None) and \
            not Path(args.output).resolve().parent.is_dir():
        run.error(f"--output: no folder {Path(args.output).resolve().parent} to write {Path(args.output).name} in")
    if args.ray and args.explain:
        run.error("--explain writes heatmaps on this machine; it cannot be combined with --ray")
    if args.explain:
        make_explain_folder(args.explain, run)
    if args.actors and not args.ray:
        run.error("--actors applies only with --ray")
    skipped: list[str] = []
    try:
        entries = list(find_entries(args.paths, skipped))
    except (FileNotFoundError, ImportError, OSError) as error:
        run.error(str(error))
    report_skipped(skipped)
    if not entries:
        run.error("no image files found in the given paths")
    model = args.model or default_model()
    try:
        classifier = GenreClassifier(model, 1 if args.ray else args.threads)
    except ModelNotFoundError as error:
        print(f"{arguments.prog}: error: {error}", file=sys.stderr)
        return 2
    args.top_k = checked_top_k(args.top_k, classifier, run)
    args.read_words = checked_read_words(args.read_words, classifier, run)
    carried = carried_columns(entries) if any(entry.catalogue for entry in entries) else None
    if args.ray:
        return ray_main(args, entries, model, fmt, carried)
    if args.explain and not classifier.has_maps:
        print(f"{arguments.prog}: error: the model at {classifier.path} has no activation maps for --explain.",
              file=sys.stderr)
        return 2
    records = progress(classify(classifier, entries, args.top_k, args.min_confidence, args.batch_size, args.explain,
                                args.read_words), len(entries))
    return finish(records, args.output, fmt, args.top_k, carried)


def make_explain_folder(folder: Path, run: argparse.ArgumentParser) -> None:
    """Make --explain's folder before any work, or stop with a usage error saying why it cannot be made."""
    if folder.exists() and not folder.is_dir():
        run.error(f"--explain: {folder} is a file; give a folder for the heatmaps")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        run.error(f"--explain: cannot make the folder {folder}: {error.strerror or error}")


def report_skipped(skipped: list[str], shown: int = 5) -> None:
    """Say on stderr which files of the walked folders were passed over, and why."""
    if skipped:
        names = ", ".join(skipped[:shown]) + (f" and {len(skipped) - shown} more" if len(skipped) > shown else "")
        print(f"{program_name()}: skipped {len(skipped)} file(s) that are not images by their suffix "
              f"({', '.join(sorted(IMAGE_SUFFIXES))}; SVG is not supported): {names}", file=sys.stderr)


def finish(records: Iterable[dict], output: str | None, fmt: str, top_k: int, carried: list[str] | None = None
           ) -> int:
    """Write the records; exit status 1 when any of them is an error record, else 0."""
    errors = 0

    def counted() -> Iterator[dict]:
        nonlocal errors
        for item in records:
            errors += "error" in item
            yield item

    write(counted(), output, fmt, top_k, carried)
    return 1 if errors else 0


def ray_main(args: argparse.Namespace, entries: list[Entry], model: Path, fmt: str, carried: list[str] | None
             ) -> int:
    """The same classification on a Ray cluster (poster_genre_ray, installed with the [ray] extra)."""
    try:
        from poster_genre_ray import RaySettings, classify_on_ray, connect, write_folder
    except ImportError as error:
        print(f"{program_name()}: error: --ray needs Ray: pip install \"poster-genre[ray]\" ({error}).",
              file=sys.stderr)
        return 2
    try:
        connect(args.ray)
    except (ConnectionError, RuntimeError, ValueError) as error:
        print(f"{program_name()}: error: cannot reach the Ray cluster at {args.ray}: {error}", file=sys.stderr)
        return 2
    settings = RaySettings(args.ray, args.top_k, args.min_confidence, args.batch_size, args.threads or 1, args.actors,
                           carried, args.read_words)
    if args.output and format_for(args.output, None) is None:  # no file suffix: a folder of parallel files
        return write_folder(entries, model, settings, args.output, fmt)
    return finish(classify_on_ray(entries, model, settings), args.output, fmt, args.top_k, carried)
