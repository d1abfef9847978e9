"""Batch tagging for catalogues.

    python -m poster_genre classify PATH... [--top-k K] [--format jsonl|csv] [--min-confidence P]

Prints one record per image on stdout: `file`, `labels` (genres with confidences, most likely
first) and `needs_review` (top confidence below P). An unreadable file gets a record with an
`error` instead of stopping the run. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Iterable, Iterator, TextIO

import numpy as np
from tqdm import tqdm

from poster_genre.classifier import DEFAULT_MODEL, GenreClassifier
from poster_genre.labels import GENRES
from poster_genre.preprocess import IMAGE_SUFFIXES, InvalidImageError, preprocess


def find_images(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given; folders walked recursively for image files, in sorted order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def classify(classifier: GenreClassifier, files: list[Path], top_k: int, min_confidence: float,
             batch_size: int = 16) -> Iterator[dict]:
    """One record per file, in order; inference runs on batches of readable images."""
    for start in range(0, len(files), batch_size):
        chunk = files[start:start + batch_size]
        inputs, records = [], []
        for file in chunk:
            try:
                inputs.append(preprocess(file, classifier.input_size))
                records.append({"file": str(file)})
            except InvalidImageError as error:
                records.append({"file": str(file), "error": str(error)})
        rows = iter(classifier.probabilities(np.stack(inputs)) if inputs else [])
        for record in records:
            if "error" not in record:
                ranked = classifier.rank(next(rows), top_k)
                record["labels"] = [{"label": p.label, "confidence": round(p.confidence, 4)} for p in ranked]
                record["needs_review"] = ranked[0].confidence < min_confidence
            yield record


def write_jsonl(records: Iterable[dict], out: TextIO) -> None:
    for record in records:
        out.write(json.dumps(record) + "\n")


def write_csv(records: Iterable[dict], out: TextIO, top_k: int) -> None:
    """Flat CSV: file, label_1, confidence_1, ..., needs_review, error."""
    columns = ["file"] + [f"{kind}_{i}" for i in range(1, top_k + 1) for kind in ("label", "confidence")]
    writer = csv.DictWriter(out, columns + ["needs_review", "error"], lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = {"file": record["file"], "error": record.get("error", ""), "needs_review": record.get("needs_review", "")}
        for i, item in enumerate(record.get("labels", []), start=1):
            row[f"label_{i}"], row[f"confidence_{i}"] = item["label"], item["confidence"]
        writer.writerow(row)


def progress(records: Iterable[dict], total: int) -> Iterator[dict]:
    """Pass records through while drawing a progress bar on stderr."""
    with tqdm(total=total, desc="classify", unit="poster", file=sys.stderr) as bar:
        for record in records:
            bar.update()
            yield record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m poster_genre", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("classify", help="tag poster files or folders")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                     help="poster files, or folders walked recursively for image files")
    run.add_argument("--top-k", type=int, default=3, choices=range(1, len(GENRES) + 1), metavar="K",
                     help="genres listed per poster, most likely first (default 3)")
    run.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="output format (default jsonl)")
    run.add_argument("--min-confidence", type=float, default=0.5, metavar="P",
                     help="needs_review when the top confidence is below P (default 0.5)")
    run.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="ONNX model (default: the bundled model.onnx)")
    run.add_argument("--batch-size", type=int, default=16, help="posters per inference call (default 16)")
    run.add_argument("--threads", type=int, help="onnxruntime threads (default: $POSTER_GENRE_THREADS or all cores)")
    args = parser.parse_args(argv)

    files = list(find_images(args.paths))
    if not files:
        parser.error("no image files found in the given paths")
    classifier = GenreClassifier(args.model, args.threads)
    records = progress(classify(classifier, files, args.top_k, args.min_confidence, args.batch_size), len(files))
    if args.format == "csv":
        write_csv(records, sys.stdout, args.top_k)
    else:
        write_jsonl(records, sys.stdout)
    return 0
