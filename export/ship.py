"""One command makes everything that ships, from the built poster set to the files to commit.

    python -m export.ship [--out artifacts/ship] [--install] [--without-words] [train.train's options ...]
    python -m export.ship --words-only [--out artifacts/ship] [--install] [train.train's options ...]

1. The words: every training and validation poster that the words cache lacks, or whose bytes or OCR engine
   changed, is read (`train.read_words`; stopped, the command goes on where it was when run again).
2. Training (`train.train`, with its options as given): the image model, the title and year and words models,
   their fusion, the report and its plots.
3. Export (`export.to_onnx`): model.onnx, checked against Keras on real posters, with its card and review limits,
   and model.text.onnx beside it.
4. Checks (`problems`): both files load as the app loads them, with the report's genres and a threshold each, the
   words model is there, and a validation poster is answered.
5. `--install`, only when every check passed: model.onnx, model.text.onnx and the report (metrics.json and its
   plots) replace the served ones (`--install-to`, default the repository).

`--words-only` keeps the served image model and refits only what reads the title, the year and the words: after step
1, the text and words models and their fusion are refitted for the served model (`train.text.refit`: the out-of-fold
poster probabilities are its run's own, stage 1's probe on the cached features), model.text.onnx is exported and
model.onnx is the served one with its card made from the new report (`export.to_onnx.recard`); then steps 4 and 5.
It is how a change to the reading reaches the models that read the words, without retraining the image model.

Everything is written under `--out` first, outside the served files. A model that reads no words is made only
when asked for with `--without-words`: without the words cache or the OCR engine, the command stops, saying why.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from export.text_model import export_text_model
from export.to_onnx import export, recard
from poster_genre.analysis import Refusal, file_probabilities
from poster_genre.classifier import GenreClassifier, ModelNotFoundError
from poster_genre.text import TEXT_NAME
from train.config import TrainConfig
from train.config import parse_args as training_options
from train.data import Poster, split_posters
from train.dataset import Data
from train.read_words import run as read_missing_words
from train.read_words import words_of
from train.report import REPORT_NAME, read_report, write_report
from train.text import refit
from train.train import main as train

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ("model.onnx", TEXT_NAME)  # the served model files, at the top of the repository


class ShipError(RuntimeError):
    """Why the command stopped before making (or installing) the files."""


def ship(config: TrainConfig, training_argv: list[str], out: Path, with_words: bool = True, workers: int = 2,
         parity_count: int = 16) -> tuple[dict, float]:
    """Read the missing words, train, export and check into `out`: the training report and Keras's largest
    difference from ONNX, or ShipError saying why."""
    posters, training, validation = split_posters(config.data_dir, config.imdb_dir)  # as train.train splits them
    if with_words:
        words_ready(config, posters, training, workers)
    words = ["--words-cache", str(config.words_cache) if with_words else "none"]
    report = train([*training_argv, "--out", str(out), "--reports-dir", str(out / "reports"), *words])
    difference = export(out / "model.keras", out / "reports" / REPORT_NAME, out / "model.onnx", config.data_dir,
                        config.imdb_dir, parity_count=parity_count)
    found = problems(out, report, with_words, validation[0].path)
    if found:
        raise ShipError(f"the files in {out} failed their checks, so nothing was installed: {'; '.join(found)}")
    return report, difference


def ship_words_only(config: TrainConfig, out: Path, served: Path, workers: int = 2) -> dict:
    """Read the missing words, refit the text and words models and their fusion for the served image model
    `served` (its report beside it in reports/), export and check into `out`: the new report, or ShipError."""
    data = Data.load(config)  # the posters split as train.train splits them
    words_ready(config, data.posters, data.train, workers)
    report = read_report(served.parent / "reports")
    classifier = GenreClassifier(served)
    if classifier.labels != tuple(report["labels"]):
        raise ShipError(f"{served} serves {classifier.labels}, its report {tuple(report['labels'])}")
    print(f"the served model's probabilities of {len(data.val)} validation posters", file=sys.stderr)
    report = refit(replace(config, out=out), data, report, file_probabilities(classifier, [p.path for p in data.val]))
    write_report(report, out / "reports")
    recard(served, report, out / "model.onnx")
    export_text_model(out, report, out / TEXT_NAME)
    found = problems(out, report, True, data.val[0].path)
    if found:
        raise ShipError(f"the files in {out} failed their checks, so nothing was installed: {'; '.join(found)}")
    return report


def words_ready(config: TrainConfig, posters: list[Poster], training: list[Poster], workers: int) -> None:
    """Read the words on every poster the cache lacks; ShipError when they cannot be read, or none were read on a
    training poster."""
    from poster_genre.words import words_available

    if config.words_cache is None:
        raise ShipError("no words cache is named (--words-cache none); to make a model that reads no words, say "
                        "--without-words")
    if not words_available():
        raise ShipError('the OCR engine is not installed (pip install -r requirements-train.txt); to make a model '
                        'that reads no words, say --without-words')
    read_missing_words([p.path for p in posters], config.words_cache, workers)
    if not any(words_of(config.words_cache, training).values()):
        raise ShipError(f"no words were read on any training poster ({config.words_cache}); to make a model that "
                        "reads no words, say --without-words")


def problems(out: Path, report: dict, with_words: bool, poster: Path) -> list[str]:
    """What is wrong with the exported files in `out`, loaded as the app loads them, answering `poster` (empty:
    nothing)."""
    try:
        classifier = GenreClassifier(out / "model.onnx")
    except ModelNotFoundError as error:
        return [f"model.onnx does not load: {error}"]
    found = []
    if classifier.labels != tuple(report["labels"]):
        found.append(f"model.onnx has the genres {classifier.labels}, the report {tuple(report['labels'])}")
    if classifier.text is None:
        found.append(f"there is no usable {TEXT_NAME}: {classifier.text_problem}")
    elif classifier.text.reads_words != with_words:
        found.append(f"{TEXT_NAME} {'lacks' if with_words else 'has'} a words model")
    answer = classifier.classify(poster, errors="record", read_words=with_words)[0]
    if isinstance(answer, Refusal) or len(answer.ranked) != len(classifier.labels):
        found.append(f"the validation poster {poster} got no answer")
    return found


def install(out: Path, target: Path) -> list[Path]:
    """Copy the served files and the report from `out` over those in `target`; the files written."""
    written = []
    for name in SHIPPED:
        shutil.copyfile(out / name, target / name)
        written.append(target / name)
    reports = target / "reports"
    reports.mkdir(exist_ok=True)
    for stale in reports.glob("*.png"):
        stale.unlink()
    for made in [*sorted((out / "reports").glob("*.png")), out / "reports" / REPORT_NAME]:
        shutil.copyfile(made, reports / made.name)
        written.append(reports / made.name)
    return written


def main(argv: list[str] | None = None) -> tuple[dict, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "artifacts" / "ship", help="where everything is made")
    parser.add_argument("--install", action="store_true", help="copy the served files over once every check passed")
    parser.add_argument("--install-to", type=Path, default=REPO, help="the folder of the served files")
    parser.add_argument("--without-words", action="store_true", help="make a model that reads no words")
    parser.add_argument("--words-only", action="store_true",
                        help="keep the served image model; refit the title, year and words models and their fusion")
    parser.add_argument("--workers", type=int, default=2, help="processes reading the words (default 2)")
    parser.add_argument("--parity-count", type=int, default=16, help="posters Keras and ONNX are compared on")
    args, training_argv = parser.parse_known_args(argv)
    config = training_options(training_argv)
    try:
        if args.words_only:
            made = ship_words_only(config, args.out, args.install_to / "model.onnx", args.workers), 0.0
        else:
            made = ship(config, training_argv, args.out, not args.without_words, args.workers, args.parity_count)
    except ShipError as error:
        raise SystemExit(f"export.ship: error: {error}") from None
    if args.install:
        for path in install(args.out, args.install_to):
            print(f"installed {path}", file=sys.stderr)
    else:
        print(f"made and checked in {args.out}; --install copies them over the served files", file=sys.stderr)
    return made


if __name__ == "__main__":
    main()
