"""The title and year model and its fusion with the poster model, fitted on training films only.

    python -m train.text     # refit them for the image model of the last `python -m train.train` run

`python -m train.train` calls `fit_text_and_fusion` after the image model, so one command makes the
image model, the text model and the fusion; this entry point redoes only the text part, with the
same inputs (the cached features, the run's report and validation probabilities).

1. Text model: one logistic regression per served genre (scikit-learn, liblinear) on the hashed
   n-grams of `poster_genre.text`, one row per training film and input variant (title, year, both),
   on the films whose label for the genre is known. C is chosen by 5-fold cross-validation by film.
2. Fusion: per genre and mode, a logistic layer over the poster logit and the text logit, fitted on
   out-of-fold predictions of the training posters: the linear probe's (refitted per fold on cached
   features, as the fine-tuned model's own training posters are not out of fold) and the text
   model's. Validation films are never used to fit either.
3. Thresholds per mode: the best F1 on the validation posters, the rule the poster model's follow,
   because the fused probabilities of each mode are calibrated differently.
4. Report: each mode per source (the posters with both a title and a year, so every mode answers on
   the same posters), paired bootstrap against the poster alone, an ablation, and the titles that
   moved a prediction most.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from poster_genre.card import IMDB_EVERY_GENRE
from poster_genre.rules import TAG_RULE, fused, logit, sigmoid
from poster_genre.text import CHAR_NGRAMS, MODES, WORD_NGRAMS, TextInput, TextInputError, features
from train.config import parse_args
from train.data import Poster
from train.dataset import FOLDS, Data, folds_by_film
from train.evaluate import PREDICTIONS
from train.metrics import (
    choose_thresholds,
    compare,
    five_genres,
    masked_map,
    model_metrics,
    tag_statuses,
    threshold_rows,
)
from train.probes import out_of_fold_probe
from train.report import probe_epochs, read_report, served_labels, write_report

BUCKETS = 2 ** 18
C_GRID = (0.5, 1.0, 2.0, 4.0)
TEXT_ARTIFACT = "text_model.npz"  # beside model.keras: the text model's weights
ABLATION = ("poster", "title", "year", "poster+title", "poster+year", "poster+title+year", "poster+title+year, summed")


def film_text(poster: Poster) -> TextInput:
    """A poster's film title and year as the text model sees them (a year outside 1880-2100 counts as none)."""
    try:
        year = TextInput.of(None, poster.year).year
    except TextInputError:
        year = None
    return TextInput.of(poster.title[:300] or None, year)


def variant(text: TextInput, mode: str) -> TextInput | None:
    """The part of a film's text a mode uses, or None when the film lacks it."""
    title, year = (text.title if "title" in mode else None), (text.year if "year" in mode else None)
    if ("title" in mode and title is None) or ("year" in mode and year is None):
        return None
    return TextInput(title, year)


def design(texts: list[TextInput]) -> sparse.csr_matrix:
    """The hashed features of many texts as one sparse matrix (rows, BUCKETS)."""
    rows, cols, vals = [], [], []
    for row, text in enumerate(texts):
        indices, values = features(text, BUCKETS)
        rows.extend([row] * len(indices))
        cols.extend(indices)
        vals.extend(values)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), BUCKETS), dtype=np.float32)


@dataclass
class Films:
    """The training films once each (an IMDb poster's full labels preferred), with their texts and labels."""

    films: list[str]
    texts: list[TextInput]
    y: np.ndarray  # (films, genres): 1, 0, or -1 unknown
    fold: np.ndarray

    @classmethod
    def of(cls, posters: list[Poster], labels: tuple[str, ...], seed: int) -> "Films":
        best: dict[str, Poster] = {}
        for p in posters:
            if p.film not in best or (p.source == "imdb" and best[p.film].source != "imdb"):
                best[p.film] = p
        chosen = [best[f] for f in sorted(best)]
        return cls([p.film for p in chosen], [film_text(p) for p in chosen],
                   np.stack([p.truth(labels) for p in chosen]), folds_by_film(chosen, seed))

    def rows(self, keep: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
        """Every usable (film, mode) variant of the kept films: features and labels."""
        texts, ys = [], []
        for i in np.flatnonzero(keep):
            for mode in MODES:
                text = variant(self.texts[i], mode)
                if text is not None:
                    texts.append(text)
                    ys.append(self.y[i])
        return design(texts), np.array(ys).reshape(-1, self.y.shape[1])


def fit_linear(x: sparse.csr_matrix, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per genre on the rows whose label is known: (weights (BUCKETS, G), bias (G,))."""
    weights, bias = np.zeros((x.shape[1], y.shape[1]), np.float32), np.zeros(y.shape[1], np.float32)
    for g in range(y.shape[1]):
        known = y[:, g] >= 0
        if len(np.unique(y[known, g])) < 2:
            continue
        model = LogisticRegression(C=c, solver="liblinear", max_iter=200).fit(x[known], y[known, g])
        weights[:, g], bias[g] = model.coef_[0], model.intercept_[0]
    return weights, bias


def text_logits(weights: np.ndarray, bias: np.ndarray, texts: list[TextInput | None]) -> np.ndarray:
    """(N, G) text logits; NaN rows where there is no text."""
    out = np.full((len(texts), weights.shape[1]), np.nan)
    present = [i for i, t in enumerate(texts) if t is not None and t.mode]
    if present:
        out[present] = design([texts[i] for i in present]) @ weights + bias
    return out


def cross_validated(films: Films, c: float) -> dict[str, np.ndarray]:
    """Out-of-fold text logits of every training film, per mode."""
    out = {mode: np.full(films.y.shape, np.nan) for mode in MODES}
    for fold in range(FOLDS):
        weights, bias = fit_linear(*films.rows(films.fold != fold), c)
        held = np.flatnonzero(films.fold == fold)
        for mode in MODES:
            out[mode][held] = text_logits(weights, bias, [variant(films.texts[i], mode) for i in held])
    return out


def choose_c(films: Films) -> tuple[float, dict[str, np.ndarray], dict[float, float]]:
    """C with the best out-of-fold mAP (title and year), its out-of-fold logits, and every C's score."""
    scores, best = {}, None
    for c in C_GRID:
        oof = cross_validated(films, c)
        both = ~np.isnan(oof["title+year"][:, 0])
        scores[c] = round(masked_map(films.y[both], sigmoid(oof["title+year"][both])), 4)
        print(f"text model C={c}: out-of-fold mAP {scores[c]}", file=sys.stderr)
        if best is None or scores[c] > scores[best[0]]:
            best = (c, oof)
    return best[0], best[1], scores


def fit_fusion(image: np.ndarray, text: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per genre, (poster weight, text weight, bias) of a logistic layer over the two logits, on the rows with
    text and a known label."""
    weights = np.tile([1.0, 0.0, 0.0], (y.shape[1], 1))
    for g in range(y.shape[1]):
        rows = (y[:, g] >= 0) & ~np.isnan(text[:, g])
        if len(np.unique(y[rows, g])) < 2:
            continue
        model = LogisticRegression(C=1.0).fit(np.column_stack([image[rows, g], text[rows, g]]), y[rows, g])
        weights[g] = [*model.coef_[0], model.intercept_[0]]
    return weights


def fuse(weights: np.ndarray, poster: np.ndarray, text: np.ndarray) -> np.ndarray:
    """Fused probabilities (N, G); the poster's where a row has no text."""
    return np.where(np.isnan(text), poster, fused(weights, poster, text))


@dataclass(frozen=True)
class TextResult:
    weights: np.ndarray
    bias: np.ndarray
    fusion: dict[str, np.ndarray]
    thresholds: dict[str, dict[str, float]]
    report: dict


def fit_text_and_fusion(train: list[Poster], val: list[Poster], labels: tuple[str, ...], oof_image: np.ndarray,
                        val_image: np.ndarray, seed: int) -> TextResult:
    """The text model, the fusion per mode and the per-mode thresholds, with their report.

    `oof_image`: out-of-fold poster probabilities of the training posters; `val_image`: the poster
    model's probabilities of the validation posters; both over `labels`."""
    films = Films.of(train, labels, seed)
    c, oof_text, c_scores = choose_c(films)
    weights, bias = fit_linear(*films.rows(np.ones(len(films.films), bool)), c)
    index = {film: i for i, film in enumerate(films.films)}
    rows = [index[p.film] for p in train]
    y_train = np.stack([p.truth(labels) for p in train])
    fusion = {mode: fit_fusion(logit(oof_image), oof_text[mode][rows], y_train) for mode in MODES}

    texts = [film_text(p) for p in val]
    val_text = {mode: text_logits(weights, bias, [variant(t, mode) for t in texts]) for mode in MODES}
    answers = {"poster": val_image, **{f"poster+{mode}": fuse(fusion[mode], val_image, val_text[mode]) for mode in MODES},
               "title": sigmoid(val_text["title"]), "year": sigmoid(val_text["year"]),
               "poster+title+year, summed": sigmoid(logit(val_image) + val_text["title+year"])}
    y_val, rows = np.stack([p.truth(labels) for p in val]), threshold_rows(val)
    thresholds = {mode: choose_thresholds(y_val[rows], answers[f"poster+{mode}"][rows], labels) for mode in MODES}
    complete = np.array([t.title is not None and t.year is not None for t in texts])
    report = {
        "model": {"buckets": BUCKETS, "char_ngrams": list(CHAR_NGRAMS), "word_ngrams": list(WORD_NGRAMS),
                  "hash": "CRC-32 of each token, modulo buckets", "C": c, "C_scores": c_scores,
                  "training_films": len(films.films),
                  "training_films_with_title": sum(t.title is not None for t in films.texts),
                  "training_films_with_year": sum(t.year is not None for t in films.texts)},
        "fusion": {mode: {g: [round(float(v), 4) for v in fusion[mode][i]] for i, g in enumerate(labels)}
                   for mode in MODES},
        "thresholds": thresholds,
        "threshold_rule": f"per mode, the poster model's tag rule: {TAG_RULE}",
        "tag_status": {mode: tag_statuses(y_val[rows], answers[f"poster+{mode}"][rows], thresholds[mode], labels)
                       for mode in MODES},
        "validation_posters_with_title_and_year": int(complete.sum()),
        "modes": mode_figures(val, answers, thresholds, labels, complete),
        "versus_poster": {mode: compare([p for p, keep in zip(val, complete) if keep],
                                        five_genres(answers[mode][complete], labels),
                                        five_genres(val_image[complete], labels))
                          for mode in ABLATION if mode != "poster"},
        "moved_most": moved_most(val, texts, val_image, answers["poster+title+year"], labels),
    }
    return TextResult(weights, bias, fusion, thresholds, report)


def mode_figures(val: list[Poster], answers: dict[str, np.ndarray], thresholds: dict, labels: tuple[str, ...],
                 complete: np.ndarray) -> dict:
    """Every mode's figures (per source: mAP, top-1-in-genres, sample F1, per-genre AP, ECE) on the
    validation posters with a title and a year."""
    kept = [p for p, keep in zip(val, complete) if keep]
    out = {}
    for mode in ABLATION:
        rule = thresholds.get(mode.removeprefix("poster+"), thresholds["title+year"])
        figures = model_metrics(kept, answers[mode][complete], rule, labels)
        out[mode] = {source: {"mAP": f["mAP"], "top1_in_genres": f["top1_in_genres"], "sample_f1": f["sample_f1"],
                              "ece": f["calibration"]["ece"], "average_precision": f["average_precision"]}
                     for source, f in figures.items() if source in ("imdb", "tmdb", IMDB_EVERY_GENRE)}
    return out


def moved_most(val: list[Poster], texts: list[TextInput], poster: np.ndarray, fused: np.ndarray,
               labels: tuple[str, ...], count: int = 10) -> list[dict]:
    """The validation films whose title and year moved one genre's probability most."""
    change = np.nan_to_num(np.abs(fused - poster))
    order = np.argsort(-change.max(axis=1), kind="stable")
    out, seen = [], set()
    for i in order:
        if val[i].film in seen or texts[i].title is None:
            continue
        seen.add(val[i].film)
        g = int(change[i].argmax())
        out.append({"title": texts[i].title, "year": texts[i].year, "genre": labels[g],
                    "poster": round(float(poster[i, g]), 3), "with_title_and_year": round(float(fused[i, g]), 3),
                    "carries_it": bool(val[i].truth(labels)[g] == 1)})
        if len(out) == count:
            break
    return out


def save(result: TextResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / TEXT_ARTIFACT, weights=result.weights.astype(np.float16), bias=result.bias,
                        **{f"fusion_{mode}": result.fusion[mode] for mode in MODES})


def main() -> None:
    """Refit the text model and fusion for the last training run's image model, and add them to its report."""
    config = parse_args(sys.argv[1:])
    report = read_report(config.reports_dir)
    served = served_labels(report)
    data = Data.load(config)
    saved = np.load(config.out / PREDICTIONS)
    if [Path(f) for f in saved["files"]] != [p.path for p in data.val]:
        raise SystemExit("The saved validation probabilities are of other posters: run python -m train.train.")
    oof = out_of_fold_probe(config, data, probe_epochs(report))
    keep = [data.labels.index(g) for g in served]
    result = fit_text_and_fusion(data.train, data.val, served, oof[:, keep], saved["model"], config.seed)
    save(result, config.out)
    report["text"] = result.report
    write_report(report, config.reports_dir)


if __name__ == "__main__":
    main()
