"""Batch tagging for catalogues.

    poster-genre classify PATH... [--top-k K] [--format jsonl|csv] [--min-confidence P] [--explain DIR]
    (or: python -m poster_genre classify ...)

Prints one record per image on stdout: `file`, `labels` (genres with confidences, most likely
first), `genres` (the tag set: genres at or above the model's thresholds for a multi-label model,
the most likely genre for a single-label one) and `needs_review` (top confidence below P). An
unreadable file gets a record with an `error` instead of stopping the run. Progress goes to stderr.
The model is --model, else $POSTER_GENRE_MODEL, else the model bundled with the package.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path
from typing import Iterable, Iterator, TextIO

import numpy as np
from PIL import Image
from tqdm import tqdm

from poster_genre import __version__
from poster_genre.classifier import GenreClassifier, ModelNotFoundError, default_model
from poster_genre.explain import overlay
from poster_genre.labels import GENRES
from poster_genre.preprocess import IMAGE_SUFFIXES, InvalidImageError, fit_to_input, load_for_model


def find_images(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given; folders walked recursively for image files, in sorted order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def classify(classifier: GenreClassifier, files: list[Path], top_k: int, min_confidence: float,
             batch_size: int = 16, explain_dir: Path | None = None) -> Iterator[dict]:
    """One record per file, in order; inference runs on batches of readable images.

    With `explain_dir`, the top genre's activation map over each poster is written there as a PNG
    and the record names it in `explanation`.
    """
    for start in range(0, len(files), batch_size):
        chunk = files[start:start + batch_size]
        images, records = [], []
        for file in chunk:
            try:
                images.append(load_for_model(file, classifier.input_size))
                records.append({"file": str(file)})
            except InvalidImageError as error:
                records.append({"file": str(file), "error": str(error)})
        batch = np.stack([fit_to_input(image, classifier.input_size) for image in images]) if images else None
        if batch is None:
            probs, maps = [], []
        elif explain_dir is not None:
            probs, maps = classifier.probabilities_and_maps(batch)
        else:
            probs, maps = classifier.probabilities(batch), [None] * len(images)
        rows = iter(zip(images, probs, maps))
        for record in records:
            if "error" not in record:
                image, row, genre_maps = next(rows)
                tagging = classifier.tagging(row, top_k)
                record["labels"] = [{"label": p.label, "confidence": round(p.confidence, 4)} for p in tagging.labels]
                record["genres"] = list(tagging.genres)
                record["needs_review"] = tagging.top.confidence < min_confidence
                if explain_dir is not None:
                    record["explanation"] = str(write_explanation(classifier, image, genre_maps, row,
                                                                  Path(record["file"]), explain_dir))
            yield record


def write_explanation(classifier: GenreClassifier, image: Image.Image, maps: np.ndarray, probs: np.ndarray,
                      file: Path, folder: Path) -> Path:
    """The top genre's heat over the poster as `<folder>/<stem>_<genre>.png` (a new name if taken)."""
    index = int(np.argmax(probs))
    heat = overlay(classifier, image, maps, index)
    folder.mkdir(parents=True, exist_ok=True)
    base = f"{file.stem}_{classifier.labels[index].lower()}"
    target, number = folder / f"{base}.png", 2
    while target.exists():
        target, number = folder / f"{base}-{number}.png", number + 1
    heat.save(target)
    return target


def write_jsonl(records: Iterable[dict], out: TextIO) -> None:
    for record in records:
        out.write(json.dumps(record) + "\n")


def write_csv(records: Iterable[dict], out: TextIO, top_k: int) -> None:
    """Flat CSV: file, label_1, confidence_1, ..., genres (`|`-joined), needs_review, explanation, error."""
    columns = ["file"] + [f"{kind}_{i}" for i in range(1, top_k + 1) for kind in ("label", "confidence")]
    writer = csv.DictWriter(out, columns + ["genres", "needs_review", "explanation", "error"], lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = {"file": record["file"], "error": record.get("error", ""), "needs_review": record.get("needs_review", ""),
               "genres": "|".join(record.get("genres", [])), "explanation": record.get("explanation", "")}
        for i, item in enumerate(record.get("labels", []), start=1):
            row[f"label_{i}"], row[f"confidence_{i}"] = item["label"], item["confidence"]
        writer.writerow(row)


def progress(records: Iterable[dict], total: int) -> Iterator[dict]:
    """Pass records through while drawing a progress bar on stderr."""
    with tqdm(total=total, desc="classify", unit="poster", file=sys.stderr) as bar:
        for record in records:
            bar.update()
            yield record


def program_name() -> str:
    """`poster-genre` when run as the console script, else `python -m poster_genre`."""
    return "poster-genre" if os.path.basename(sys.argv[0]) == "poster-genre" else "python -m poster_genre"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=program_name(), description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("classify", help="tag poster files or folders")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                     help="poster files, or folders walked recursively for image files")
    run.add_argument("--top-k", type=int, default=3, choices=range(1, len(GENRES) + 1), metavar="K",
                     help="genres listed per poster, most likely first (default 3)")
    run.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="output format (default jsonl)")
    run.add_argument("--min-confidence", type=float, default=0.5, metavar="P",
                     help="needs_review when the top confidence is below P (default 0.5)")
    run.add_argument("--model", type=Path,
                     help="ONNX model (default: $POSTER_GENRE_MODEL, else the model bundled with the package)")
    run.add_argument("--batch-size", type=int, default=16, help="posters per inference call (default 16)")
    run.add_argument("--threads", type=int, help="onnxruntime threads (default: $POSTER_GENRE_THREADS or all cores)")
    run.add_argument("--explain", type=Path, metavar="DIR",
                     help="write the top genre's heatmap over each poster as a PNG into DIR")
    return top


def main(argv: list[str] | None = None) -> int:
    arguments = parser()
    args = arguments.parse_args(argv)
    files = list(find_images(args.paths))
    if not files:
        arguments.error("no image files found in the given paths")
    try:
        classifier = GenreClassifier(args.model or default_model(), args.threads)
    except ModelNotFoundError as error:
        print(f"{arguments.prog}: error: {error}", file=sys.stderr)
        return 2
    if args.explain and not classifier.has_maps:
        print(f"{arguments.prog}: error: the model at {classifier.path} has no activation maps for --explain.",
              file=sys.stderr)
        return 2
    records = progress(classify(classifier, files, args.top_k, args.min_confidence, args.batch_size, args.explain),
                       len(files))
    if args.format == "csv":
        write_csv(records, sys.stdout, args.top_k)
    else:
        write_jsonl(records, sys.stdout)
    return 0
