"""Batch tagging for catalogues.

    poster-genre classify PATH... [--top-k K|all] [--min-confidence P]
                                  [--output FILE [--resume | --overwrite] | --format jsonl|csv]
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
An --output file is written a batch at a time with FILE.progress.json beside it: --resume continues
a run that was stopped (even killed) where it left off, each input's record once; an existing
FILE is refused unless --resume or --overwrite says what to do with it.
The model is --model, else $POSTER_GENRE_MODEL, else the model bundled with the package.

--ray runs the same analysis on a Ray cluster: without ADDRESS a Ray of the run's own on this machine (or the one
$RAY_ADDRESS names), else `auto`, `host:port` or a `ray://host:10001` address (pip install "poster-genre[ray]").

Exit status: 0 when every input was classified, 1 when any could not be (its record says why;
the others are still written), 2 for a usage error (bad option, no model, nothing to classify).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from poster_genre.analysis import Analysis, Refusal
from poster_genre.classifier import GenreClassifier
from poster_genre.cli_options import parser as options_parser
from poster_genre.cli_options import program_name
from poster_genre.explain import overlay
from poster_genre.inputs import Entry, carried_columns, find_entries, is_uri
from poster_genre.model import ModelNotFoundError, default_model
from poster_genre.preprocess import IMAGE_SUFFIXES
from poster_genre.records import format_for, parquet_modules, records_of, write
from poster_genre.runs import RunOutput, RunOutputError, chunks, open_run, run_command
from poster_genre.text import text_model_beside


def classify(classifier: GenreClassifier, entries: list[Entry], top_k: int, min_confidence: float,
             batch_size: int = 16, explain_dir: Path | None = None, read_words: bool = False) -> Iterator[dict]:
    """One record per file, in order, from the package's one analysis path, `batch_size` posters a run, with
    the words on each poster read when `read_words`.

    With `explain_dir`, the top genre's activation map over each poster is written there as a PNG
    and the record names it in `explanation`.
    """
    written: set[Path] = set()  # heatmaps of this run: a rerun overwrites its own files instead of adding more
    batches = [entries[start:start + batch_size] for start in range(0, len(entries), batch_size)]
    for records in batches_in_flight(classifier, batches, top_k, min_confidence, read_words):
        for item, result in records:
            if explain_dir is not None and isinstance(result, Analysis):
                target = write_explanation(classifier, result, Path(item["file"]), explain_dir, written)
                item["explanation"] = str(target)
            yield item


def batches_in_flight(classifier: GenreClassifier, batches: list[list[Entry]], top_k: int, min_confidence: float,
                      read_words: bool) -> Iterator[list[tuple[dict, Analysis | Refusal]]]:
    """`records_of` each batch, in order. With the words read, the next batch is started while this one is worked on,
    so the readers have its posters queued when this batch's last ones are read (at most two batches in memory);
    without them, one batch at a time."""
    if not read_words:
        yield from (records_of(classifier, batch, top_k, min_confidence) for batch in batches)
        return
    with ThreadPoolExecutor(2, thread_name_prefix="poster-batch") as pool:
        running = [pool.submit(records_of, classifier, batch, top_k, min_confidence, True) for batch in batches[:2]]
        for index in range(len(batches)):
            done = running.pop(0).result()
            if index + 2 < len(batches):
                running.append(pool.submit(records_of, classifier, batches[index + 2], top_k, min_confidence, True))
            yield done


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


def progress(records: Iterable[dict], total: int, done_before: int = 0) -> Iterator[dict]:
    """Pass records through while drawing a progress bar on stderr, counting from the records a resumed run had."""
    desc = f"classify ({done_before} done before)" if done_before else "classify"
    with tqdm(total=total, initial=done_before, desc=desc, unit="poster", file=sys.stderr) as bar:
        for item in records:
            bar.update()
            yield item


def checked_top_k(top_k: int | str, classifier: GenreClassifier, run: argparse.ArgumentParser) -> int:
    """--top-k as a number of genres this model has (its card's genre list)."""
    try:
        return classifier.top_k_count(top_k)
    except ValueError:
        run.error(f"--top-k: this model has {len(classifier.labels)} genres; give 1 to {len(classifier.labels)}, "
                  "or all")


def words_to_read(asked: bool | None, classifier: GenreClassifier, run: argparse.ArgumentParser) -> bool:
    """Whether to read the words: as asked, else when the model can use them (`GenreModel.words_wanted`); a usage
    error when asked for without the OCR engine; a note when they would be read but not used, and when a model
    that uses them answers without them because the OCR engine is not installed."""
    wanted = classifier.words_wanted(asked)
    if asked is None and classifier.reads_words and not wanted:
        print(f"{program_name()}: note: the words on the posters are not read: {classifier.words_problem()}; the "
              "answers rest on the posters (and titles and years) alone.", file=sys.stderr)
    if wanted and asked:
        from poster_genre.words import words_available

        if not words_available():
            run.error('--read-words needs the OCR engine: pip install "poster-genre[words]"')
        if not classifier.reads_words:
            print(f"{program_name()}: note: the model at {classifier.path} has no words model; the words are read "
                  "and recorded but the answers do not use them.", file=sys.stderr)
    return wanted


def parser() -> argparse.ArgumentParser:
    """The command line's arguments, described by this module's docstring."""
    return options_parser(__doc__)


def main(argv: list[str] | None = None) -> int:
    arguments = parser()
    args = arguments.parse_args(argv)
    run = args.usage  # errors below show `classify`'s usage
    fmt = checked_format(args.output, args.format, run)
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
    args.read_words = words_to_read(args.read_words, classifier, run)
    carried = carried_columns(entries) if any(entry.catalogue for entry in entries) else None
    output = run_output(args, entries, classifier, fmt, carried)
    remaining = entries[output.done:] if output else entries
    if args.ray:
        return ray_main(args, remaining, model, fmt, carried, output)
    if args.explain and not classifier.has_maps:
        print(f"{arguments.prog}: error: the model at {classifier.path} has no activation maps for --explain.",
              file=sys.stderr)
        return 2
    records = classify(classifier, remaining, args.top_k, args.min_confidence, args.batch_size, args.explain,
                       args.read_words)
    return finish(progress(records, len(entries), len(entries) - len(remaining)), output, fmt, args.top_k, carried,
                  args.batch_size)


def run_output(args: argparse.Namespace, entries: list[Entry], classifier: GenreClassifier, fmt: str,
               carried: list[str] | None) -> RunOutput | None:
    """The --output file's run: new, resumed (`--resume`) or refused, saying why; None for stdout or a Ray folder
    of parallel files."""
    run = args.usage
    if not args.output or format_for(args.output, None) is None:
        if args.resume:
            run.error("--resume continues an --output file (.jsonl, .csv or .parquet); stdout and a Ray folder of "
                      "parallel files cannot be resumed")
        if args.output and not is_uri(args.output) and Path(args.output).is_dir() and any(Path(args.output).iterdir()):
            run.error(f"--output: the folder {args.output} is not empty; remove it or name a new folder, so that "
                      "this run's files are not mixed with others")
        return None
    options = {"format": fmt, "top_k": args.top_k, "min_confidence": args.min_confidence,
               "read_words": args.read_words, "explain": str(args.explain) if args.explain else None,
               "carried": carried}
    text = text_model_beside(classifier.path)
    command = run_command(entries, [classifier.path, *([text] if text.is_file() else [])], options)
    try:
        output = open_run(Path(args.output), fmt, args.top_k, carried, command, args.resume, args.overwrite)
    except RunOutputError as error:
        run.error(str(error))
    if output.done:
        print(f"{program_name()}: resuming {args.output}: {output.done} of {output.total} inputs were done before"
              f"{' (the run is complete)' if output.done == output.total else ''}.", file=sys.stderr)
    return output


def checked_format(output: str | None, asked: str, run: argparse.ArgumentParser) -> str:
    """The records' format (an --output file's suffix wins over --format), or a usage error saying why the output
    cannot be written."""
    fmt = format_for(output, asked) if output else asked
    if fmt == "parquet" and not output:
        run.error("Parquet is written to a file or folder: give --output PATH")
    if fmt == "parquet":
        try:
            parquet_modules()
        except ImportError as error:
            run.error(str(error))
    if output and is_uri(output) and format_for(output, None):
        run.error(f"--output: {output} is one file in an object store; a file is written on this machine (a local "
                  "path), and an object store takes a folder of parallel files with --ray (a prefix without a suffix)")
    if output and not is_uri(output) and format_for(output, None) and not Path(output).resolve().parent.is_dir():
        run.error(f"--output: no folder {Path(output).resolve().parent} to write {Path(output).name} in")
    return fmt


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


def finish(records: Iterable[dict], output: RunOutput | None, fmt: str, top_k: int, carried: list[str] | None,
           batch_size: int) -> int:
    """Write the records, to the run's output a batch at a time, else to stdout; exit status 1 when any record of
    the run is an error record, else 0."""
    if output is not None:
        for batch in chunks(records, batch_size):
            output.append(batch)
        output.finish()
        return 1 if output.errors else 0
    errors = 0

    def counted() -> Iterator[dict]:
        nonlocal errors
        for item in records:
            errors += "error" in item
            yield item

    write(counted(), sys.stdout, fmt, top_k, carried)
    return 1 if errors else 0


def ray_main(args: argparse.Namespace, entries: list[Entry], model: Path, fmt: str, carried: list[str] | None,
             output: RunOutput | None) -> int:
    """The same classification on a Ray cluster (poster_genre_ray, installed with the [ray] extra): `entries` are
    the inputs still to do, written to the run's `output` (None: stdout, or a folder of parallel files)."""
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
    if args.output and output is None:  # no file suffix: a folder of parallel files
        return write_folder(entries, model, settings, args.output, fmt)
    done = output.done if output else 0
    records = classify_on_ray(entries, model, settings) if entries else iter(())
    return finish(progress(records, done + len(entries), done), output, fmt, args.top_k, carried, args.batch_size)
