"""The training report: what the run says about itself (`reports/metrics.json`, read back here and by
`poster_genre.card.ModelCard.from_report`), the model file and the plots."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import keras
import numpy as np

from poster_genre.card import COLLECTED_GENRE, IMDB_EVERY_GENRE, MULTI_LABEL
from poster_genre.rules import FIRST_GENRES, serving_rule
from train import evaluate, plots
from train.config import TrainConfig
from train.data import Poster
from train.dataset import Data, counts, training_films
from train.metrics import candidate_table
from train.model import best_epochs

REPORT_NAME = "metrics.json"
STAGE_1, STAGE_2 = "stage 1 (head)", "stage 2 (top blocks)"  # the report's history keys


def run_description(config: TrainConfig, labels: tuple[str, ...], posters: list[Poster],
                    train_posters: list[Poster], val_posters: list[Poster]) -> dict:
    """What the report says about the run: model, data counts, settings and the serving rule."""
    return {
        "kind": MULTI_LABEL,
        "backbone": config.backbone,
        "weights": str(config.weights),
        "input_size": list(config.input_size),
        "labels": list(labels),
        "data": {"posters": len(posters), "train": len(train_posters), "val": len(val_posters),
                 "train_counts": counts(train_posters, labels), "val_counts": counts(val_posters, labels),
                 "seed": config.seed, "imdb_dir": Path(config.imdb_dir).name if config.imdb_dir else None},
        "settings": {k: getattr(config, k) for k in ("views", "top_blocks", "head_lr", "finetune_lr", "dropout",
                                                   "label_smoothing", "batch_size", "head_epochs", "finetune_epochs",
                                                   "min_candidate_films", "serve_min_films", "serve_min_lift")},
        "serving_rule": serving_rule(config.serve_min_films, config.serve_min_lift),
        "unknown_labels": ("a TMDB poster's genres beyond the five are unknown: each poster's loss is the mean over "
                           "its known genres, and metrics of those genres use the IMDb posters only"),
    }


def choose_served(config: TrainConfig, data: Data, probs: np.ndarray) -> tuple[list[int], list[dict]]:
    """The indices of the served genres among the candidates, and every candidate with the rule applied."""
    if len(data.labels) == len(FIRST_GENRES):
        return list(range(len(data.labels))), []
    imdb = data.val_imdb
    candidates = candidate_table(data.labels, training_films(data.train), data.y_val[imdb], probs[imdb],
                                 config.serve_min_films, config.serve_min_lift)
    return [i for i, row in enumerate(candidates) if row["served"]], candidates


def write_outputs(model: keras.Model, report: dict, out: Path, reports_dir: Path) -> None:
    """model.keras in `out`; metrics.json and the PNG plots in `reports_dir`."""
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    write_report(report, reports_dir)
    print(evaluate.summary(report), f"{report['train_seconds']:.0f} s; wrote {out / 'model.keras'} and {reports_dir}",
          file=sys.stderr)


def write_report(report: dict, reports_dir: Path) -> None:
    """metrics.json and every PNG plot of the report, replacing older plots."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    for stale in reports_dir.glob("*.png"):
        stale.unlink()
    (reports_dir / REPORT_NAME).write_text(json.dumps(report, indent=2) + "\n")
    plots.plot_report(plot_data(report), reports_dir)


def read_report(reports_dir: Path) -> dict:
    """The report of the last training run in `reports_dir`."""
    return json.loads((reports_dir / REPORT_NAME).read_text())


def served_labels(report: dict) -> tuple[str, ...]:
    """The genres the run's model serves, in its output order."""
    return tuple(report["labels"])


def probe_epochs(report: dict) -> int:
    """How many epochs stage 1's probe kept (the out-of-fold probes are fitted for as many)."""
    return best_epochs(report["history"][STAGE_1])


def prior_shifts(report: dict, labels: tuple[str, ...]) -> list[float]:
    """Each genre's logit shift to the run's stated prior (0 for a run without one)."""
    genres = report.get("prior", {}).get("genres", {})
    return [genres.get(g, {}).get("logit_shift", 0.0) for g in labels]


def plot_data(report: dict) -> plots.PlotData:
    """What the plots draw, read from the report."""
    names = {"validation": "this model", "probe": "linear probe",
             "baseline": f"baseline {report.get('baseline', {}).get('model', '')}"}
    bars = []
    for part, name in names.items():
        if report.get(part):
            five = report[part].get("imdb", report[part]["all"])
            every = report[part].get(IMDB_EVERY_GENRE, five)["average_precision"]
            bars.append(plots.APBars(name, five["mAP"], every))
    collected = report["validation"].get(COLLECTED_GENRE, {})
    text = report.get("text", {})
    return plots.PlotData(report["history"], served_labels(report), bars, report["validation"],
                          collected.get("selective", []), collected.get("confusion_matrix", []),
                          report.get("candidates", []), report["settings"]["serve_min_lift"],
                          report.get("learning_curve", []), text.get("modes", {}),
                          text.get("validation_posters_with_title_and_year", 0))
