"""Metrics and plots for a genre model on held-out posters."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


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
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        per_genre[label] = {"precision": round(float(precision), 4), "recall": round(float(recall), 4),
                            "f1": round(float(f1), 4), "support": int(confusion[index].sum())}
    top2 = (np.argsort(-probs, axis=1)[:, :2] == y_true[:, None]).any(axis=1)
    return {
        "accuracy": round(float((y_pred == y_true).mean()), 4),
        "macro_f1": round(float(np.mean([g["f1"] for g in per_genre.values()])), 4),
        "top2_accuracy": round(float(top2.mean()), 4),
        "per_genre": per_genre,
        "confusion_matrix": confusion.tolist(),
        "selective": selective_accuracy(y_true, probs),
    }


def selective_accuracy(y_true: np.ndarray, probs: np.ndarray) -> list[dict]:
    """Accuracy and share of posters kept when only top confidences >= threshold are trusted."""
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == y_true
    rows = []
    for threshold in THRESHOLDS:
        kept = confidence >= threshold
        rows.append({"threshold": threshold, "coverage": round(float(kept.mean()), 4),
                     "accuracy": round(float(correct[kept].mean()), 4) if kept.any() else None,
                     "kept": int(kept.sum())})
    return rows


def plot_confusion(confusion: list[list[int]], labels: tuple[str, ...], path: Path) -> None:
    """Confusion matrix (rows: true genre, columns: predicted) as a PNG."""
    matrix = np.asarray(confusion)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (row, col), value in np.ndenumerate(matrix):
        ax.text(col, row, str(value), ha="center", va="center",
                color="white" if value > matrix.max() / 2 else "black")
    ax.set_title("Validation confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_history(stages: dict[str, dict[str, list[float]]], path: Path) -> None:
    """Loss and accuracy per epoch of each training stage, train and validation, as a PNG."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    offset = 0
    for stage, history in stages.items():
        epochs = np.arange(offset + 1, offset + len(history["loss"]) + 1)
        for ax, key in zip(axes, ("loss", "accuracy")):
            ax.plot(epochs, history[key], label=f"{stage} train")
            ax.plot(epochs, history[f"val_{key}"], "--", label=f"{stage} val")
        offset += len(history["loss"])
    for ax, key in zip(axes, ("loss", "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_selective(rows: list[dict], path: Path) -> None:
    """Accuracy and coverage against the confidence threshold, as a PNG."""
    thresholds = [r["threshold"] for r in rows if r["accuracy"] is not None]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(thresholds, [r["accuracy"] for r in rows if r["accuracy"] is not None], "o-", label="accuracy")
    ax.plot(thresholds, [r["coverage"] for r in rows if r["accuracy"] is not None], "s--", label="share kept")
    ax.set_xlabel("minimum top confidence")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("Trusting only confident predictions")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
