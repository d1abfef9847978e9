"""The command line's options: `poster-genre classify`'s arguments and the checks each takes before any model is
loaded (the checks that need the model are in `poster_genre.cli`)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from poster_genre import __version__
from poster_genre.records import FORMATS
from poster_genre.rules import MIN_CONFIDENCE


def program_name() -> str:
    """`poster-genre` when run as the console script, else `python -m poster_genre`."""
    return "poster-genre" if os.path.basename(sys.argv[0]) == "poster-genre" else "python -m poster_genre"


def at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


RAY_ADDRESS = re.compile(r"^(local|auto|[a-z][a-z0-9+.-]*://\S+|[\w.-]+:\d+)$")


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


def parser(description: str) -> argparse.ArgumentParser:
    """`classify`'s arguments, checked as far as they can be without the model."""
    top = argparse.ArgumentParser(prog=program_name(), description=description,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("classify", help="tag poster files, folders or object-store prefixes")
    run.add_argument("paths", nargs="+", metavar="PATH",
                     help="poster files, folders walked recursively for image files, s3:// / gs:// prefixes, or "
                          "catalogue CSVs (a file column, optional title and year columns)")
    run.add_argument("--top-k", default="3", metavar="K",
                     help="genres listed per poster, most likely first: 1 to the model's number of genres, or all "
                          "(default 3)")
    run.add_argument("--format", choices=FORMATS, default="jsonl",
                     help="output format on stdout or in an --output folder (default jsonl; a file's suffix wins)")
    run.add_argument("--output", metavar="PATH",
                     help="write records here instead of stdout: .jsonl, .csv or .parquet (with --ray, another "
                          "name is a folder of parallel files)")
    run.add_argument("--resume", action="store_true",
                     help="continue the run that was writing --output FILE (stopped at any point, even killed): "
                          "the records it wrote are kept and the rest written after them, each input once; refused "
                          "when the inputs or options differ from that run's")
    run.add_argument("--overwrite", action="store_true",
                     help="replace an existing --output FILE (without it, and without --resume, an existing output "
                          "is refused, never mixed with a new run)")
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
