"""The evaluation part of the training report: thresholds, the model's figures, the probe's and the
baseline's on the same posters, and the paired comparison with the baseline on its validation films."""

from __future__ import annotations

import numpy as np

from poster_genre.analysis import file_probabilities
from poster_genre.card import COLLECTED_GENRE, ModelCard, SourceFigures
from poster_genre.classifier import GenreClassifier
from poster_genre.rules import FIRST_GENRES, TAG_RULE
from train.data import DATA_IMDB, Poster
from train.metrics import (
    choose_thresholds,
    compare,
    five_genres,
    model_metrics,
    tag_statuses,
    threshold_rows,
)

PREDICTIONS = "val_probabilities.npz"  # beside model.keras: validation files, model and probe probabilities


def evaluate(posters: list[Poster], probs: np.ndarray, probe_probs: np.ndarray,
             baseline: GenreClassifier | None, labels: tuple[str, ...] = FIRST_GENRES) -> dict:
    """Thresholds, the model's and the probe's figures, and the baseline's (an ONNX model measured on
    the same posters) with the paired bootstrap against it on the posters version 2 validated on."""
    y, rows = np.stack([p.truth(labels) for p in posters]), threshold_rows(posters)
    thresholds = choose_thresholds(y[rows], probs[rows], labels)
    report = {"thresholds": thresholds, "threshold_rule": TAG_RULE,
              "tag_status": tag_statuses(y[rows], probs[rows], thresholds, labels),
              "validation": model_metrics(posters, probs, thresholds, labels),
              "probe": model_metrics(posters, probe_probs, choose_thresholds(y[rows], probe_probs[rows], labels),
                                     labels)}
    if baseline is not None:
        card = baseline.card
        theirs = file_probabilities(baseline, [p.path for p in posters])
        report["baseline"] = {"model": baseline.path.name, "version": card.version, "kind": card.kind,
                              **model_metrics(posters, theirs, card.thresholds, card.labels)}
        earlier = np.array([p.cohort == DATA_IMDB for p in posters])
        report["versus_baseline"] = {
            "posters": int(earlier.sum()),
            **compare([p for p, keep in zip(posters, earlier) if keep], five_genres(probs[earlier], labels),
                      five_genres(theirs[earlier], card.labels))}
    return report


def classifier_metrics(classifier: GenreClassifier, posters: list[Poster]) -> dict:
    """`model_metrics` of an ONNX model on `posters`, with the thresholds and genres of its own card."""
    probs = file_probabilities(classifier, [p.path for p in posters])
    return model_metrics(posters, probs, classifier.card.thresholds, classifier.card.labels)


def summary(report: dict) -> str:
    """One line: the headline figures of the model, the probe and the baseline (as the card reads them)."""
    card, parts = ModelCard.from_report(report), []
    for name, part in (("validation", "metrics"), ("probe", "probe"), ("baseline", "baseline")):
        figures = card.figures(part)
        if figures:
            imdb = figures.get("imdb", figures.get("all"))
            collected = figures.get(COLLECTED_GENRE, SourceFigures())
            parts.append(f"{name}: mAP {imdb.mAP:.3f}, top-1-in-genres {imdb.top1_in_genres}, "
                         f"TMDB collected-genre accuracy {collected.accuracy}")
    return "; ".join(parts)
