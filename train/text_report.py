"""The text part of a training report: every mode's figures on the validation posters every mode answers on, paired
bootstraps against the poster alone and against poster + title + year, and what moved the answers most."""

from __future__ import annotations

import numpy as np

from poster_genre.card import IMDB_EVERY_GENRE
from poster_genre.rules import TAG_RULE
from poster_genre.text import MODES, TextInput
from train.data import Poster
from train.metrics import (
    compare,
    five_genres,
    model_metrics,
    tag_statuses,
    threshold_rows,
)

ABLATION = ("poster", "title", "year", "words", *(f"poster+{mode}" for mode in MODES), "poster+title+year, summed")


def text_report(val: list[Poster], texts: list[TextInput], answers: dict[str, np.ndarray], fusion: dict,
                thresholds: dict, labels: tuple[str, ...]) -> dict:
    """The fusion, thresholds and tag status of every mode, and the figures of every mode and ablation."""
    reads_words = "words" in fusion
    y_val, rows = np.stack([p.truth(labels) for p in val]), threshold_rows(val)
    complete = np.array([t.title is not None and t.year is not None and (bool(t.words) or not reads_words)
                         for t in texts])
    shown = tuple(mode for mode in ABLATION if mode in answers and (mode != "words" or reads_words))
    report = {
        "fusion": {mode: {g: [round(float(v), 4) for v in fusion[mode][i]] for i, g in enumerate(labels)}
                   for mode in fusion},
        "thresholds": thresholds,
        "threshold_rule": f"per mode, the poster model's tag rule: {TAG_RULE}",
        "tag_status": {mode: tag_statuses(y_val[rows], answers[f"poster+{mode}"][rows], thresholds[mode], labels)
                       for mode in fusion},
        "validation_posters_with_title_and_year": int(complete.sum()),
        "modes": mode_figures(val, answers, thresholds, labels, complete, shown),
        "versus_poster": {mode: versus(val, complete, answers[mode], answers["poster"], labels)
                          for mode in shown if mode != "poster"},
        "moved_most": moved_most(val, texts, answers["poster"], answers["poster+title+year"], labels),
    }
    if reads_words:
        report["versus_poster_title_year"] = {mode: versus(val, complete, answers[mode], answers["poster+title+year"],
                                                           labels)
                                              for mode in ("poster+words", "poster+title+year+words")}
        report["words_moved_most"] = words_moved_most(val, texts, answers["poster"], answers["poster+words"], labels)
    return report


def versus(val: list[Poster], complete: np.ndarray, ours: np.ndarray, theirs: np.ndarray, labels: tuple[str, ...]
           ) -> dict:
    """`compare` on the validation posters every mode answers on."""
    return compare([p for p, keep in zip(val, complete) if keep], five_genres(ours[complete], labels),
                   five_genres(theirs[complete], labels))


def mode_figures(val: list[Poster], answers: dict[str, np.ndarray], thresholds: dict, labels: tuple[str, ...],
                 complete: np.ndarray, modes: tuple[str, ...]) -> dict:
    """Every mode's figures (per source: mAP, top-1-in-genres, sample F1, per-genre AP, ECE) on the
    validation posters every mode answers on."""
    kept = [p for p, keep in zip(val, complete) if keep]
    out = {}
    for mode in modes:
        rule = thresholds.get(mode.removeprefix("poster+"), thresholds["title+year"])
        figures = model_metrics(kept, answers[mode][complete], rule, labels)
        out[mode] = {source: {"mAP": f["mAP"], "top1_in_genres": f["top1_in_genres"], "sample_f1": f["sample_f1"],
                              "ece": f["calibration"]["ece"], "average_precision": f["average_precision"]}
                     for source, f in figures.items() if source in ("imdb", "tmdb", IMDB_EVERY_GENRE)}
    return out


def moved(val: list[Poster], poster: np.ndarray, fused_probs: np.ndarray, labels: tuple[str, ...], keep: list[bool],
          count: int) -> list[tuple[int, int]]:
    """(poster, genre) of the validation films (one poster each, among `keep`) whose answer moved most."""
    change = np.nan_to_num(np.abs(fused_probs - poster))
    out, seen = [], set()
    for i in np.argsort(-change.max(axis=1), kind="stable"):
        if val[i].film in seen or not keep[i]:
            continue
        seen.add(val[i].film)
        out.append((int(i), int(change[i].argmax())))
        if len(out) == count:
            break
    return out


def moved_most(val: list[Poster], texts: list[TextInput], poster: np.ndarray, fused_probs: np.ndarray,
               labels: tuple[str, ...], count: int = 10) -> list[dict]:
    """The validation films whose title and year moved one genre's probability most."""
    return [{"title": texts[i].title, "year": texts[i].year, "genre": labels[g],
             "poster": round(float(poster[i, g]), 3), "with_title_and_year": round(float(fused_probs[i, g]), 3),
             "carries_it": bool(val[i].truth(labels)[g] == 1)}
            for i, g in moved(val, poster, fused_probs, labels, [t.title is not None for t in texts], count)]


def words_moved_most(val: list[Poster], texts: list[TextInput], poster: np.ndarray, fused_probs: np.ndarray,
                     labels: tuple[str, ...], count: int = 10) -> list[dict]:
    """The validation posters whose words moved one genre's probability most (the words only, no poster)."""
    return [{"words": list(texts[i].words[:8]), "genre": labels[g], "poster": round(float(poster[i, g]), 3),
             "with_words": round(float(fused_probs[i, g]), 3), "carries_it": bool(val[i].truth(labels)[g] == 1)}
            for i, g in moved(val, poster, fused_probs, labels, [bool(t.words) for t in texts], count)]


