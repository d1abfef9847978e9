"""Metrics of a genre model on held-out posters, in plain numpy.

Metrics of every model on every poster:
- average precision per genre and its mean (mAP), ranking posters by the genre's probability;
- precision, recall and F1 per genre of the tag set, and sample F1 (mean over posters of the F1
  between tag set and label set; 1 when both are empty). The tag set is the genres at or above
  their thresholds (`poster_genre.rules.tagged`);
- top-1-in-genres: the share of posters with at least one genre whose most likely genre is one of them;
- calibration: reliability over all (poster, genre) pairs, and its expected calibration error.
The headline figures are over the five genres on every source; a model with more genres also gets
them over all its genres on the IMDb posters, the only ones whose every genre is known.
On version 1's TMDB validation posters, the most likely of the five genres against the genre each poster was
collected under (accuracy, macro-F1, top-2 and the selective-accuracy table: the `tmdb_collected` figures).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from poster_genre.card import COLLECTED_GENRE, IMDB_EVERY_GENRE
from poster_genre.rules import (
    FIRST_GENRES,
    TAG_MIN_PRECISION,
    TAG_MIN_RECALL,
    THRESHOLD_GRID,
    served,
    tag_threshold,
    tagged,
)
from train.data import Poster

THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
CALIBRATION_BINS = 10
SOURCES = ("all", "imdb", "tmdb")


# The most likely genre against the collected one (the `tmdb_collected` figures).

def collected_genre_metrics(y_true: np.ndarray, probs: np.ndarray, labels: tuple[str, ...]) -> dict:
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


def masked_map(y: np.ndarray, probs: np.ndarray) -> float:
    """mAP over the genres, each over the posters whose label for it is known (y >= 0)."""
    return float(np.nanmean([average_precision(y[y[:, i] >= 0, i] > 0, probs[y[:, i] >= 0, i])
                             for i in range(y.shape[1])]))


def threshold_rows(posters: list[Poster]) -> np.ndarray:
    """The posters thresholds are chosen on: the IMDb films (every genre known) when there are any, else all."""
    imdb = np.array([p.source == "imdb" for p in posters])
    return imdb if imdb.any() else np.ones(len(posters), bool)


def choose_thresholds(y: np.ndarray, probs: np.ndarray, labels: tuple[str, ...] = FIRST_GENRES
                      ) -> dict[str, float | None]:
    """Per genre, its threshold by the tag rule (`poster_genre.rules.tag_threshold`) on the posters whose label
    for it is known, or None (a probability only)."""
    chosen = {}
    for index, genre in enumerate(labels):
        known = y[:, index] >= 0
        chosen[genre] = tag_threshold(y[known, index] > 0, probs[known, index])
    return chosen


def tag_statuses(y: np.ndarray, probs: np.ndarray, thresholds: dict[str, float | None], labels: tuple[str, ...],
                 resamples: int = 1000, seed: int = 0) -> dict[str, dict]:
    """Per genre: tagged or a probability only (and why), and at its threshold the tags' precision with its 95%
    bootstrap interval, recall and count, on the posters whose label is known."""
    rng = np.random.default_rng(seed)
    out = {}
    for index, genre in enumerate(labels):
        known = y[:, index] >= 0
        truth, p = y[known, index] > 0, probs[known, index]
        threshold = thresholds[genre]
        if threshold is None:
            best = max((pr[0] for pr in (precision_recall_f1(truth, p >= t) for t in THRESHOLD_GRID)
                        if pr[1] >= TAG_MIN_RECALL), default=0.0)
            out[genre] = {"tagged": False, "films": int(truth.sum()), "best_precision": _round(best),
                          "reason": f"its tags were right at most {best:.0%} of the time on validation films while "
                                    f"finding {TAG_MIN_RECALL:.0%} of them (a tag needs {TAG_MIN_PRECISION:.0%})"}
            continue
        tags = p >= threshold
        precision, recall, _ = precision_recall_f1(truth, tags)
        draws = [rng.integers(0, len(truth), len(truth)) for _ in range(resamples)]
        spread = [precision_recall_f1(truth[d], tags[d])[0] for d in draws]
        out[genre] = {"tagged": True, "threshold": threshold, "precision": _round(precision),
                      "precision_interval": [_round(np.percentile(spread, 2.5)), _round(np.percentile(spread, 97.5))],
                      "recall": _round(recall), "tags": int(tags.sum()), "films": int(truth.sum())}
    return out


def multilabel_metrics(y: np.ndarray, probs: np.ndarray, tags: np.ndarray, labels: tuple[str, ...] = FIRST_GENRES
                       ) -> dict:
    """mAP, AP, base rate and P/R/F1 per genre, sample F1, top-1-in-genres, selective table, calibration.

    Every label of these posters must be known."""
    truth = y > 0
    ap = {genre: average_precision(truth[:, i], probs[:, i]) for i, genre in enumerate(labels)}
    per_genre = {}
    for i, genre in enumerate(labels):
        precision, recall, f1 = precision_recall_f1(truth[:, i], tags[:, i])
        per_genre[genre] = {"precision": _round(precision), "recall": _round(recall), "f1": _round(f1),
                            "support": int(truth[:, i].sum()), "base_rate": _round(truth[:, i].mean())}
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


def model_metrics(posters: list[Poster], probs: np.ndarray, thresholds: dict[str, float],
                  labels: tuple[str, ...] = FIRST_GENRES) -> dict:
    """Every figure of one model on the validation posters: over the five genres per source, over all
    its genres on the IMDb posters (when it has more), and the collected genre's on version 1's posters."""
    five = [labels.index(g) for g in FIRST_GENRES]
    y, probs5 = np.stack([p.truth(FIRST_GENRES) for p in posters]), probs[:, five]
    tags = tagged(probs, thresholds, labels)
    out = {}
    for source in SOURCES:
        keep = np.array([source == "all" or p.source == source for p in posters])
        if keep.any():
            out[source] = multilabel_metrics(y[keep], probs5[keep], tags[keep][:, five])
    imdb = np.array([p.source == "imdb" for p in posters])
    if len(labels) > len(FIRST_GENRES) and imdb.any():
        y_all = np.stack([p.truth(labels) for p in posters])
        out[IMDB_EVERY_GENRE] = multilabel_metrics(y_all[imdb], probs[imdb], tags[imdb], labels)
    with_genre = np.array([p.source == "tmdb" and bool(p.genre) for p in posters])
    if with_genre.any():
        collected = np.array([FIRST_GENRES.index(p.genre) for p, keep in zip(posters, with_genre) if keep])
        out[COLLECTED_GENRE] = collected_genre_metrics(collected, probs5[with_genre], FIRST_GENRES)
    return out


def candidate_table(labels: tuple[str, ...], train_films: dict[str, int], val_imdb: np.ndarray,
                    probs_imdb: np.ndarray, min_films: int, min_lift: float) -> list[dict]:
    """Every candidate genre with the serving rule (`poster_genre.rules.served`) applied."""
    rows = []
    for i, genre in enumerate(labels):
        truth = val_imdb[:, i] > 0
        ap, base = average_precision(truth, probs_imdb[:, i]), float(truth.mean())
        lift = ap / base if base else float("nan")
        rows.append({"genre": genre, "training_films": train_films.get(genre, 0),
                     "validation_films": int(truth.sum()), "base_rate": _round(base), "ap": _round(ap),
                     "lift": _round(lift),
                     "served": served(genre, train_films.get(genre, 0), lift, min_films, min_lift)})
    return rows


# Paired comparisons of two models on the same posters.

Figure = Callable[[np.ndarray, np.ndarray], float]  # (truth or genre index, probabilities) -> figure


def accuracy(primary: np.ndarray, probs: np.ndarray) -> float:
    """Share of posters whose most likely genre is the collected one."""
    return float((probs.argmax(axis=1) == primary).mean())


def paired_bootstrap(figure: Figure, truth: np.ndarray, ours: np.ndarray, theirs: np.ndarray,
                     resamples: int = 2000, seed: int = 0) -> dict:
    """Both models' figure, and the standard errors of ours and of the paired difference."""
    rng = np.random.default_rng(seed)
    samples = [rng.integers(0, len(truth), len(truth)) for _ in range(resamples)]
    mine = np.array([figure(truth[s], ours[s]) for s in samples])
    difference = mine - np.array([figure(truth[s], theirs[s]) for s in samples])
    ours_figure, theirs_figure = figure(truth, ours), figure(truth, theirs)
    observed = ours_figure - theirs_figure
    return {"ours": round(ours_figure, 4), "theirs": round(theirs_figure, 4),
            "se_ours": round(float(mine.std()), 4), "difference": round(observed, 4),
            "se_difference": round(float(difference.std()), 4),
            "standard_errors_apart": round(observed / max(float(difference.std()), 1e-12), 1)}


def five_genres(probs: np.ndarray, labels: tuple[str, ...]) -> np.ndarray:
    """The columns of the five genres, in their order, from probabilities over `labels`."""
    return probs[:, [labels.index(g) for g in FIRST_GENRES]]


def compare(posters: list[Poster], ours: np.ndarray, theirs: np.ndarray, seed: int = 0) -> dict:
    """mAP and top-1-in-genres on the IMDb films (five genres); accuracy on version 1's TMDB posters.
    A figure whose posters are not among these is left out."""
    imdb = np.array([p.source == "imdb" for p in posters])
    truth = np.stack([p.truth(FIRST_GENRES) for p in posters]) > 0
    primary = np.array([FIRST_GENRES.index(p.genre) if p.genre in FIRST_GENRES else -1 for p in posters])
    tmdb = ~imdb & (primary >= 0)
    out = {}
    if (truth[imdb].any(axis=1)).any():
        out["imdb_mAP"] = paired_bootstrap(mean_average_precision, truth[imdb], ours[imdb], theirs[imdb], seed=seed)
        out["imdb_top1_in_genres"] = paired_bootstrap(top1_in_genres, truth[imdb], ours[imdb], theirs[imdb], seed=seed)
    if tmdb.any():
        out["tmdb_accuracy"] = paired_bootstrap(accuracy, primary[tmdb], ours[tmdb], theirs[tmdb], seed=seed)
    return out


def precision_recall_f1(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of boolean predictions against boolean truth (0 when undefined)."""
    tp = float((truth & predicted).sum())
    precision, recall = tp / max(predicted.sum(), 1), tp / max(truth.sum(), 1)
    return precision, recall, _f1(precision, recall)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / max(precision + recall, 1e-12)


def _round(value) -> float:
    return round(float(value), 4)
