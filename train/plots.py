"""The report's PNG plots: the only training module that imports matplotlib. They draw a `PlotData`, which
`train.report` fills from the report, so no plot reads the report's keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from poster_genre.rules import FIRST_GENRES
from train.metrics import SOURCES


@dataclass(frozen=True)
class APBars:
    """One model's bars in the AP plot: its name, five-genre mAP and AP per genre (IMDb validation films)."""

    name: str
    five_genre_map: float
    average_precision: dict[str, float]


@dataclass(frozen=True)
class PlotData:
    """What the plots draw, as `train.report.plot_data` reads it from a report."""

    history: dict[str, dict[str, list[float]]]  # per stage, per metric, per epoch
    labels: tuple[str, ...]
    ap_bars: list[APBars]
    validation: dict  # per source: the model's figures (calibration bins among them)
    selective: list[dict] = field(default_factory=list)  # version 1's TMDB posters: trusting top confidences
    confusion: list[list[int]] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)
    min_lift: float = 3.0  # the serving rule's AP / base rate
    learning_curve: list[dict] = field(default_factory=list)
    text_modes: dict = field(default_factory=dict)  # mode -> source -> figures
    text_posters: int = 0


def save(fig, path: Path) -> None:
    """Lay out, write as a PNG and close a figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_report(data: PlotData, folder: Path) -> None:
    """Every PNG of the report: training curves, AP per genre, calibration, selective accuracy, confusion,
    and for a model trained on more genres, the candidate genres and the learning curve."""
    plot_history(data.history, folder / "training_curves.png")
    plot_average_precision(data.ap_bars, data.labels, folder / "average_precision.png")
    plot_calibration(data.validation, folder / "calibration.png")
    if data.candidates:
        plot_candidates(data.candidates, data.min_lift, folder / "candidate_genres.png")
    if data.learning_curve:
        plot_learning_curve(data.learning_curve, folder / "learning_curve.png")
    if data.text_modes:
        plot_text_modes(data.text_modes, data.text_posters, folder / "title_and_year.png")
    if data.selective:
        plot_selective(data.selective, folder / "selective_accuracy.png")
        plot_confusion(data.confusion, FIRST_GENRES, folder / "confusion_matrix.png")


def plot_history(stages: dict[str, dict[str, list[float]]], path: Path) -> None:
    """Loss and the stage's metric per epoch, train and validation, as a PNG."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    offset = 0
    for stage, history in stages.items():
        metric = next(k.removeprefix("val_") for k in history if k.startswith("val_") and k != "val_loss")
        epochs = np.arange(offset + 1, offset + len(history["loss"]) + 1)
        for ax, key in zip(axes, ("loss", metric)):
            if key in history:
                ax.plot(epochs, history[key], label=f"{stage} train")
            ax.plot(epochs, history[f"val_{key}"], "--", label=f"{stage} val")
            ax.set_title(key if key == "loss" else f"{key} (train: augmented views)")
        offset += len(history["loss"])
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend()
    save(fig, path)


def plot_average_precision(bars: list[APBars], labels: tuple[str, ...], path: Path) -> None:
    """Average precision per genre on the IMDb validation films, model beside probe and baseline
    (the legend's mAP is over the five genres, as every model has them)."""
    fig, ax = plt.subplots(figsize=(max(7.0, 0.6 * len(labels)), 4))
    width = 0.8 / len(bars)
    for k, bar in enumerate(bars):
        values = [bar.average_precision.get(g, np.nan) for g in labels]
        ax.bar(np.arange(len(labels)) + k * width, values, width,
               label=f"{bar.name} (five-genre mAP {bar.five_genre_map:.3f})")
    ax.set_xticks(np.arange(len(labels)) + width * (len(bars) - 1) / 2, labels, rotation=30 if len(labels) > 5 else 0)
    ax.set_ylim(0, 1)
    ax.set_ylabel("average precision")
    ax.set_title("Average precision per genre, IMDb validation films")
    ax.legend(fontsize=8)
    save(fig, path)


def plot_calibration(validation: dict, path: Path) -> None:
    """Reliability diagram per source: observed frequency against predicted probability."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect")
    for source in SOURCES:
        if source in validation:
            bins = validation[source]["calibration"]["bins"]
            ax.plot([b["mean_probability"] for b in bins], [b["frequency"] for b in bins], "o-",
                    label=f"{source} (ECE {validation[source]['calibration']['ece']:.3f})")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency of the genre")
    ax.set_title("Calibration over all (poster, genre) pairs")
    ax.legend()
    save(fig, path)


def plot_confusion(confusion: list[list[int]], labels: tuple[str, ...], path: Path) -> None:
    """Confusion matrix (rows: collected genre, columns: most likely genre) as a PNG."""
    matrix = np.asarray(confusion)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("most likely")
    ax.set_ylabel("collected genre")
    for (row, col), value in np.ndenumerate(matrix):
        ax.text(col, row, str(value), ha="center", va="center",
                color="white" if value > matrix.max() / 2 else "black")
    ax.set_title("Version 1's TMDB validation posters")
    save(fig, path)


def plot_selective(rows: list[dict], path: Path) -> None:
    """Accuracy and coverage against the confidence threshold, as a PNG."""
    rows = [r for r in rows if r["accuracy"] is not None]
    thresholds = [r["threshold"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(thresholds, [r["accuracy"] for r in rows], "o-", label="accuracy")
    ax.plot(thresholds, [r["coverage"] for r in rows], "s--", label="share kept")
    ax.set_xlabel("minimum top confidence")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("Trusting only confident predictions (TMDB)")
    save(fig, path)




def plot_candidates(rows: list[dict], min_lift: float, path: Path) -> None:
    """Every candidate genre's IMDb validation AP against its base rate, served or not, with the rule's line."""
    fig, ax = plt.subplots(figsize=(7, 5))
    for served, marker in ((True, "o"), (False, "x")):
        chosen = [r for r in rows if r["served"] == served]
        ax.scatter([r["base_rate"] for r in chosen], [r["ap"] for r in chosen], marker=marker,
                   label="served" if served else "not served")
        for r in chosen:
            ax.annotate(r["genre"], (r["base_rate"], r["ap"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    top = max(r["base_rate"] for r in rows) * 1.1
    ax.plot([0, top / min_lift], [0, top], ":", color="grey", label=f"AP = {min_lift:g} x base rate")
    ax.set_xlabel("base rate (share of IMDb validation films)")
    ax.set_ylabel("average precision")
    ax.set_title("Candidate genres, IMDb validation films")
    ax.legend()
    save(fig, path)


def plot_learning_curve(rows: list[dict], path: Path) -> None:
    """The linear probe's IMDb validation mAP against the training films it saw."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    films = [r["training_films"] for r in rows]
    for key, label in (("five_genre_mAP", "five genres"), ("all_genre_mAP", "every candidate genre")):
        ax.plot(films, [r[key] for r in rows], "o-", label=label)
    ax.set_xlabel("training films")
    ax.set_ylabel("mAP, IMDb validation films")
    ax.set_title("Learning curve (linear probe on cached features)")
    ax.legend()
    save(fig, path)


def plot_text_modes(figures: dict, posters: int, path: Path) -> None:
    """Five-genre mAP and top-1-in-genres of each input mode, IMDb and TMDB validation posters with a title and year."""
    modes = list(figures)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, key, title in zip(axes, ("mAP", "top1_in_genres"), ("mAP", "top-1-in-genres")):
        for k, source in enumerate(("imdb", "tmdb")):
            values = [figures[m].get(source, {}).get(key) or np.nan for m in modes]
            ax.bar(np.arange(len(modes)) + k * 0.4, values, 0.4, label=source.upper())
        ax.set_xticks(np.arange(len(modes)) + 0.2, modes, rotation=35, ha="right", fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(f"{title}, five genres, by inputs")
        ax.legend()
    fig.suptitle(f"Title and year beside the poster ({posters} validation posters with both)")
    save(fig, path)
