"""Metrics and plots for a genre model on held-out posters, per source, beside a baseline.

Multi-label metrics (every model, whatever its kind, on every poster):
- average precision per genre and its mean (mAP), ranking posters by the genre's probability;
- precision, recall and F1 per genre of the tag set, and sample F1 (mean over posters of the F1
  between tag set and label set; 1 when both are empty). The tag set is the genres at or above
  their thresholds (multi-label) or the single most likely genre (single-label);
- top-1-in-genres: the share of posters with at least one genre whose most likely genre is one of them;
- calibration: reliability over all (poster, genre) pairs, and its expected calibration error.
Version 1's metrics on version 1's TMDB validation posters (accuracy, macro-F1, top-2 and the
selective-accuracy table against the collected genre) are computed for every model too.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from poster_genre.card import MULTI_LABEL, SINGLE_LABEL  # noqa: E402
from poster_genre.classifier import GenreClassifier  # noqa: E402
from poster_genre.labels import GENRES  # noqa: E402
from train.data import Poster  # noqa: E402

THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)
CALIBRATION_BINS = 10
SOURCES = ("all", "imdb", "tmdb")
PREDICTIONS = "val_probabilities.npz"  # beside model.keras: validation files, model and probe probabilities


# Single-label metrics against the collected primary genre (version 1's figures).

def metrics(y_true: np.ndarray, probs: np.ndarray, labels: tuple[str, ...]) -> dict:
    """Accuracy, macro-F1, top-2 accuracy, per-genre P/R/F1, confusion matrix, selective accuracy."""
    y_pred = probs.argmax(axis=1)
    confusion = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(confusion, (y_true, y_pred), 1)
    per_genre = {}
    for index, label in enumerate(labels):
        tp = confusion[index, index]
        precision = tp / max(confusion[:, index].sum(), 1)
        recall = tp / max(confusion[index].sum(), 1)
        per_genre[label] = {"precision": _round(precision), "recall": _round(recall),
                            "f1": _round(_f1(precision, recall)), "support": int(confusion[index].sum())}
    top2 = (np.argsort(-probs, axis=1)[:, :2] == y_true[:, None]).any(axis=1)
    return {
        "posters": len(y_true),
        "accuracy": _round((y_pred == y_true).mean()),
        "macro_f1": _round(np.mean([g["f1"] for g in per_genre.values()])),
        "top2_accuracy": _round(top2.mean()),
        "per_genre": per_genre,
        "confusion_matrix": confusion.tolist(),
        "selective": selective_accuracy(probs, y_pred == y_true),
    }


def selective_accuracy(probs: np.ndarray, correct: np.ndarray) -> list[dict]:
    """Share of posters kept and accuracy on them when only top confidences >= threshold are trusted."""
    confidence = probs.max(axis=1)
    rows = []
    for threshold in THRESHOLDS:
        kept = confidence >= threshold
        rows.append({"threshold": threshold, "coverage": _round(kept.mean()),
                     "accuracy": _round(correct[kept].mean()) if kept.any() else None,
                     "kept": int(kept.sum())})
    return rows


# Multi-label metrics against each poster's genre set.

def average_precision(y: np.ndarray, scores: np.ndarray) -> float:
    """Mean precision at the rank of each positive, posters ranked by score (sklearn's AP)."""
    if not y.any():
        return float("nan")
    hits = y[np.argsort(-scores, kind="stable")]
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at[hits > 0].mean())


def mean_average_precision(truth: np.ndarray, probs: np.ndarray) -> float:
    """mAP: the mean average precision over the genres with a positive among these posters."""
    return float(np.nanmean([average_precision(truth[:, i], probs[:, i]) for i in range(truth.shape[1])]))


def top1_in_genres(truth: np.ndarray, probs: np.ndarray) -> float | None:
    """Share of the posters with a genre whose most likely genre is one of theirs (None if none has one)."""
    labelled = truth.any(axis=1)
    hits = truth[np.arange(len(truth)), probs.argmax(axis=1)]
    return float(hits[labelled].mean()) if labelled.any() else None


def choose_thresholds(y: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Per genre, the threshold on the grid 0.05..0.95 with the best F1 on these posters."""
    chosen = {}
    for index, genre in enumerate(GENRES):
        f1s = [precision_recall_f1(y[:, index] > 0, probs[:, index] >= t)[2] for t in THRESHOLD_GRID]
        chosen[genre] = float(THRESHOLD_GRID[int(np.argmax(f1s))])
    return chosen


def tag_sets(probs: np.ndarray, kind: str, thresholds: dict[str, float]) -> np.ndarray:
    """Boolean (N, 5): genres at or above their thresholds, or the top genre of a single-label model."""
    if kind == SINGLE_LABEL:
        return np.eye(len(GENRES), dtype=bool)[probs.argmax(axis=1)]
    return probs >= np.array([thresholds[g] for g in GENRES])


def multilabel_metrics(y: np.ndarray, probs: np.ndarray, tags: np.ndarray) -> dict:
    """mAP, AP and P/R/F1 per genre, sample F1, top-1-in-genres, selective table, calibration error."""
    truth = y > 0
    ap = {genre: average_precision(truth[:, i], probs[:, i]) for i, genre in enumerate(GENRES)}
    per_genre = {}
    for i, genre in enumerate(GENRES):
        precision, recall, f1 = precision_recall_f1(truth[:, i], tags[:, i])
        per_genre[genre] = {"precision": _round(precision), "recall": _round(recall), "f1": _round(f1),
                            "support": int(truth[:, i].sum())}
    both = (truth & tags).sum(1)
    sizes = truth.sum(1) + tags.sum(1)
    sample_f1 = np.where(sizes == 0, 1.0, 2 * both / np.maximum(sizes, 1))
    labelled = truth.any(axis=1)
    top_hit = truth[np.arange(len(y)), probs.argmax(axis=1)]
    return {
        "posters": len(y),
        "posters_with_a_genre": int(labelled.sum()),
        "mAP": _round(mean_average_precision(truth, probs)),
        "average_precision": {g: _round(v) for g, v in ap.items()},
        "per_genre": per_genre,
        "sample_f1": _round(sample_f1.mean()),
        "top1_in_genres": None if (top1 := top1_in_genres(truth, probs)) is None else _round(top1),
        "selective": selective_accuracy(probs[labelled], top_hit[labelled]),
        "calibration": calibration(truth, probs),
    }


def calibration(truth: np.ndarray, probs: np.ndarray) -> dict:
    """Reliability bins over all (poster, genre) pairs and the expected calibration error."""
    p, t = probs.ravel(), truth.ravel().astype(float)
    bins = np.minimum((p * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    rows, ece = [], 0.0
    for b in range(CALIBRATION_BINS):
        inside = bins == b
        if inside.any():
            rows.append({"bin": b, "mean_probability": _round(p[inside].mean()),
                         "frequency": _round(t[inside].mean()), "pairs": int(inside.sum())})
            ece += inside.mean() * abs(p[inside].mean() - t[inside].mean())
    return {"ece": _round(ece), "bins": rows}


def model_metrics(kind: str, posters: list[Poster], probs: np.ndarray, thresholds: dict[str, float]) -> dict:
    """Every figure of one model on the validation posters: per source, and version 1's on its posters."""
    y = np.stack([p.targets for p in posters])
    tags = tag_sets(probs, kind, thresholds)
    out = {}
    for source in SOURCES:
        keep = np.array([source == "all" or p.source == source for p in posters])
        if keep.any():
            out[source] = multilabel_metrics(y[keep], probs[keep], tags[keep])
    v1 = np.array([p.source == "tmdb" and bool(p.genre) for p in posters])
    if v1.any():
        out["tmdb_v1"] = metrics(np.array([p.label for p, keep in zip(posters, v1) if keep]), probs[v1], GENRES)
    return out


def evaluate(kind: str, posters: list[Poster], probs: np.ndarray, probe_probs: np.ndarray,
             baseline: GenreClassifier | None) -> dict:
    """The report's evaluation part: thresholds, the model's metrics, the probe's and the baseline's
    (an ONNX model measured on the same posters)."""
    y = np.stack([p.targets for p in posters])
    thresholds = choose_thresholds(y, probs) if kind == MULTI_LABEL else {}
    probe_thresholds = choose_thresholds(y, probe_probs) if kind == MULTI_LABEL else {}
    report = {"thresholds": thresholds,
              "threshold_rule": ("per genre, the threshold (grid 0.05..0.95, step 0.01) with the best F1 "
                                 "on all validation posters" if kind == MULTI_LABEL else
                                 "single-label: the most likely genre is the tag"),
              "validation": model_metrics(kind, posters, probs, thresholds),
              "probe": model_metrics(kind, posters, probe_probs, probe_thresholds)}
    if baseline is not None:
        card = baseline.card
        report["baseline"] = {"model": baseline.path.name, "version": card.version, "kind": card.kind,
                              **classifier_metrics(baseline, posters)}
    return report


def classifier_metrics(classifier: GenreClassifier, posters: list[Poster]) -> dict:
    """`model_metrics` of an ONNX model on `posters`, with the kind and thresholds of its own card."""
    probs = classifier.batch_probabilities([p.path for p in posters])
    return model_metrics(classifier.card.kind, posters, probs, classifier.card.thresholds)


def summary(report: dict) -> str:
    """One line: the headline figures of the model, the probe and the baseline."""
    parts = []
    for name in ("validation", "probe", "baseline"):
        figures = report.get(name)
        if figures:
            imdb, v1 = figures.get("imdb", figures["all"]), figures.get("tmdb_v1", {})
            parts.append(f"{name}: mAP {imdb['mAP']:.3f}, top-1-in-genres {imdb['top1_in_genres']}, "
                         f"TMDB v1 accuracy {v1.get('accuracy')}")
    return "; ".join(parts)


# Plots.

def plot_report(report: dict, folder: Path) -> None:
    """Every PNG of the report: training curves, AP per genre, calibration, selective accuracy, confusion."""
    plot_history(report["history"], folder / "training_curves.png")
    validation = report["validation"]
    plot_average_precision(report, folder / "average_precision.png")
    plot_calibration(validation, folder / "calibration.png")
    if "tmdb_v1" in validation:
        plot_selective(validation["tmdb_v1"]["selective"], folder / "selective_accuracy.png")
        plot_confusion(validation["tmdb_v1"]["confusion_matrix"], GENRES, folder / "confusion_matrix.png")


def plot_history(stages: dict[str, dict[str, list[float]]], path: Path) -> None:
    """Loss and the stage's metric per epoch, train and validation, as a PNG."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    offset = 0
    for stage, history in stages.items():
        metric = next(k for k in history if k not in ("loss", "val_loss") and not k.startswith("val_"))
        epochs = np.arange(offset + 1, offset + len(history["loss"]) + 1)
        for ax, key in zip(axes, ("loss", metric)):
            ax.plot(epochs, history[key], label=f"{stage} train")
            ax.plot(epochs, history[f"val_{key}"], "--", label=f"{stage} val")
            ax.set_title(key if key == "loss" else f"{key} (train: augmented views)")
        offset += len(history["loss"])
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_average_precision(report: dict, path: Path) -> None:
    """Average precision per genre on the IMDb validation films, model beside probe and baseline."""
    fig, ax = plt.subplots(figsize=(7, 4))
    names = [n for n in ("validation", "probe", "baseline") if report.get(n)]
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        figures = report[name].get("imdb", report[name]["all"])
        values = [figures["average_precision"][g] for g in GENRES]
        label = {"validation": "this model", "probe": "linear probe",
                 "baseline": f"baseline {report[name].get('model', '')}"}[name]
        ax.bar(np.arange(len(GENRES)) + k * width, values, width, label=f"{label} (mAP {figures['mAP']:.3f})")
    ax.set_xticks(np.arange(len(GENRES)) + width * (len(names) - 1) / 2, GENRES)
    ax.set_ylim(0, 1)
    ax.set_ylabel("average precision")
    ax.set_title("Average precision per genre, IMDb validation films")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def precision_recall_f1(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of boolean predictions against boolean truth (0 when undefined)."""
    tp = float((truth & predicted).sum())
    precision, recall = tp / max(predicted.sum(), 1), tp / max(truth.sum(), 1)
    return precision, recall, _f1(precision, recall)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / max(precision + recall, 1e-12)


def _round(value) -> float:
    return round(float(value), 4)
