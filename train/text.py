"""The title and year model, the words model and their fusion with the poster model, fitted on training films only.

    python -m train.text     # refit them for the image model of the last `python -m train.train` run

`python -m train.train` calls `fit_text_and_fusion` after the image model, so one command makes the
image model, the text and words models and the fusion; this entry point redoes only this part, with
the same inputs (the cached features, the run's report and validation probabilities, the words cache).

1. Text model: one logistic regression per served genre (scikit-learn, liblinear) on the hashed
   n-grams of `poster_genre.text`, one row per training film and input variant (title, year, both),
   on the films whose label for the genre is known. C is chosen by 5-fold cross-validation by film.
2. Words model: the same, on the words `python -m train.read_words` read on each training film's
   poster (one row per film with words; `--words-cache`); none when there is no cache.
3. Fusion (`train.fusion`): per genre and mode (which of title, year and words are present), a
   logistic layer over the poster, text and words logits, on out-of-fold predictions of the training
   posters (the linear probe's, refitted per fold on cached features). Validation films fit nothing.
4. Thresholds per mode by the tag rule, on the validation posters; the report (`train.text_report`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from poster_genre.rules import logit, sigmoid
from poster_genre.text import (
    CHAR_NGRAMS,
    MODES,
    TEXT_MODES,
    WORD_NGRAMS,
    TextInput,
    TextInputError,
    features,
    words_features,
)
from train.config import TrainConfig, parse_args
from train.data import Poster
from train.dataset import FOLDS, Data, folds_by_film
from train.evaluate import PREDICTIONS
from train.fusion import fit_fusion, fuse, text_part
from train.linear import fit_linear
from train.metrics import choose_thresholds, masked_map, threshold_rows
from train.probes import out_of_fold_probe
from train.read_words import Words, words_of
from train.report import (
    prior_shifts,
    probe_epochs,
    read_report,
    served_labels,
    write_report,
)
from train.text_report import text_report

BUCKETS = 2 ** 18
C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
TEXT_ARTIFACT = "text_model.npz"  # beside model.keras: the text model's weights


def film_text(poster: Poster, words: Words) -> TextInput:
    """A poster's film title and year as the text model sees them (a year outside 1880-2100 counts as none), and
    the words read on the poster (none when it was not read)."""
    try:
        year = TextInput.of(None, poster.year).year
    except TextInputError:
        year = None
    return TextInput.of(poster.title[:300] or None, year).with_words(words.get(poster.path, ()))


def variant(text: TextInput, mode: str) -> TextInput | None:
    """The part of a film's text a mode uses, or None when the film lacks it."""
    parts = mode.split("+")
    title, year = (text.title if "title" in parts else None), (text.year if "year" in parts else None)
    words = text.words if "words" in parts else ()
    if ("title" in parts and title is None) or ("year" in parts and year is None) or ("words" in parts and not words):
        return None
    return TextInput(title, year, words)


def design(texts: list[TextInput], words: bool = False) -> sparse.csr_matrix:
    """The hashed features of many texts as one sparse matrix (rows, BUCKETS): of their titles and years, or with
    `words` of their words."""
    rows, cols, vals = [], [], []
    for row, text in enumerate(texts):
        indices, values = words_features(text.words, BUCKETS) if words else features(text, BUCKETS)
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
    def of(cls, posters: list[Poster], labels: tuple[str, ...], seed: int, words: Words) -> Films:
        best: dict[str, Poster] = {}
        for p in posters:
            if p.film not in best or (p.source == "imdb" and best[p.film].source != "imdb"):
                best[p.film] = p
        chosen = [best[f] for f in sorted(best)]
        return cls([p.film for p in chosen], [film_text(p, words) for p in chosen],
                   np.stack([p.truth(labels) for p in chosen]), folds_by_film(chosen, seed))

    @property
    def with_words(self) -> np.ndarray:
        return np.array([bool(t.words) for t in self.texts])

    def rows(self, keep: np.ndarray, modes: tuple[str, ...] = TEXT_MODES) -> tuple[sparse.csr_matrix, np.ndarray]:
        """Every usable (film, mode) variant of the kept films: features and labels (of the words for the words
        model's mode, else of the title and year)."""
        texts, ys = [], []
        for i in np.flatnonzero(keep):
            for mode in modes:
                text = variant(self.texts[i], mode)
                if text is not None:
                    texts.append(text)
                    ys.append(self.y[i])
        return design(texts, words=modes == ("words",)), np.array(ys).reshape(-1, self.y.shape[1])


def text_logits(weights: np.ndarray, bias: np.ndarray, texts: list[TextInput | None], words: bool = False
                ) -> np.ndarray:
    """(N, G) logits of the title and year (or with `words`, of the words); NaN rows where there is none."""
    out = np.full((len(texts), weights.shape[1]), np.nan)
    present = [i for i, t in enumerate(texts) if t is not None and (t.words if words else t.title or t.year)]
    if present:
        out[present] = design([texts[i] for i in present], words) @ weights + bias
    return out


def cross_validated(films: Films, c: float, modes: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Out-of-fold logits of every training film, per mode, of the model fitted on `modes`' variants (the text
    model on TEXT_MODES, the words model on ("words",))."""
    words = modes == ("words",)
    out = {mode: np.full(films.y.shape, np.nan) for mode in modes}
    for fold in range(FOLDS):
        weights, bias = fit_linear(*films.rows(films.fold != fold, modes), c)
        held = np.flatnonzero(films.fold == fold)
        for mode in modes:
            out[mode][held] = text_logits(weights, bias, [variant(films.texts[i], mode) for i in held], words)
    return out


def choose_c(films: Films, modes: tuple[str, ...]) -> tuple[float, dict[str, np.ndarray], dict[float, float]]:
    """C with the best out-of-fold mAP (on the richest of `modes`), its out-of-fold logits, and every C's score."""
    scores, best = {}, None
    for c in C_GRID:
        oof = cross_validated(films, c, modes)
        both = ~np.isnan(oof[modes[-1]][:, 0])
        scores[c] = round(masked_map(films.y[both], sigmoid(oof[modes[-1]][both])), 4)
        print(f"{modes[-1]} model C={c}: out-of-fold mAP {scores[c]}", file=sys.stderr)
        if best is None or scores[c] > scores[best[0]]:
            best = (c, oof)
    return best[0], best[1], scores


@dataclass(frozen=True)
class TextResult:
    weights: np.ndarray
    bias: np.ndarray
    words: tuple[np.ndarray, np.ndarray] | None  # the words model's weights and bias, when there were words
    fusion: dict[str, np.ndarray]
    thresholds: dict[str, dict[str, float]]
    report: dict


@dataclass(frozen=True)
class Fitted:
    """The text model and, when any training film has words, the words model: weights and bias, C and every C's
    out-of-fold score, and the out-of-fold logits of every training film."""

    text: tuple[np.ndarray, np.ndarray]
    words: tuple[np.ndarray, np.ndarray] | None
    c: dict[str, tuple[float, dict[float, float]]]
    oof_text: dict[str, np.ndarray]
    oof_words: np.ndarray | None

    @property
    def modes(self) -> tuple[str, ...]:
        return MODES if self.words is not None else TEXT_MODES


def fit_models(films: Films) -> Fitted:
    """Both linear models, each C chosen by out-of-fold mAP."""
    c, oof_text, scores = choose_c(films, TEXT_MODES)
    text = fit_linear(*films.rows(np.ones(len(films.films), bool)), c)
    if not films.with_words.any():
        return Fitted(text, None, {"text": (c, scores)}, oof_text, None)
    words_c, oof_words, words_scores = choose_c(films, ("words",))
    words = fit_linear(*films.rows(films.with_words, ("words",)), words_c)
    return Fitted(text, words, {"text": (c, scores), "words": (words_c, words_scores)}, oof_text, oof_words["words"])


def fit_fusions(fitted: Fitted, films: Films, train: list[Poster], labels: tuple[str, ...], oof_image: np.ndarray
                ) -> dict[str, np.ndarray]:
    """Each mode's fusion, on the training posters' out-of-fold poster, text and words logits."""
    index = {film: i for i, film in enumerate(films.films)}
    rows = [index[p.film] for p in train]
    y = np.stack([p.truth(labels) for p in train])
    none = np.full(y.shape, np.nan)
    words = none if fitted.oof_words is None else fitted.oof_words[rows]
    return {mode: fit_fusion(logit(oof_image), fitted.oof_text[text_part(mode)][rows] if text_part(mode) else none,
                             words, y, mode) for mode in fitted.modes}


def validation_answers(fitted: Fitted, fusion: dict[str, np.ndarray], texts: list[TextInput], val_image: np.ndarray
                       ) -> dict[str, np.ndarray]:
    """Every mode's and every ablation's probabilities of the validation posters."""
    val_text = {mode: text_logits(*fitted.text, [variant(t, mode) for t in texts]) for mode in TEXT_MODES}
    none = np.full(val_image.shape, np.nan)
    val_words = none if fitted.words is None else \
        text_logits(*fitted.words, [variant(t, "words") for t in texts], words=True)
    fused_modes = {f"poster+{mode}": fuse(weights, val_image, val_text.get(text_part(mode), none), val_words)
                   for mode, weights in fusion.items()}
    return {"poster": val_image, **fused_modes, "title": sigmoid(val_text["title"]), "year": sigmoid(val_text["year"]),
            "words": sigmoid(val_words), "poster+title+year, summed": sigmoid(logit(val_image) + val_text["title+year"])}


def fit_text_and_fusion(train: list[Poster], val: list[Poster], labels: tuple[str, ...], oof_image: np.ndarray,
                        val_image: np.ndarray, seed: int, words: Words | None = None) -> TextResult:
    """The text model, the words model (when `words` holds any training film's), the fusion per mode and the
    per-mode thresholds, with their report.

    `oof_image`: out-of-fold poster probabilities of the training posters; `val_image`: the poster
    model's probabilities of the validation posters; both over `labels`."""
    films = Films.of(train, labels, seed, words or {})
    fitted = fit_models(films)
    fusion = fit_fusions(fitted, films, train, labels, oof_image)
    texts = [film_text(p, words or {}) for p in val]
    answers = validation_answers(fitted, fusion, texts, val_image)
    y_val, rows = np.stack([p.truth(labels) for p in val]), threshold_rows(val)
    thresholds = {mode: choose_thresholds(y_val[rows], answers[f"poster+{mode}"][rows], labels) for mode in fusion}
    report = {**models_report(films, fitted, texts),
              **text_report(val, texts, answers, fusion, thresholds, labels)}
    return TextResult(*fitted.text, fitted.words, fusion, thresholds, report)


def models_report(films: Films, fitted: Fitted, texts: list[TextInput]) -> dict:
    """What the text and words models are and what they were fitted on."""
    c, scores = fitted.c["text"]
    report = {"model": {"buckets": BUCKETS, "char_ngrams": list(CHAR_NGRAMS), "word_ngrams": list(WORD_NGRAMS),
                        "hash": "CRC-32 of each token, modulo buckets", "C": c, "C_scores": scores,
                        "training_films": len(films.films),
                        "training_films_with_title": sum(t.title is not None for t in films.texts),
                        "training_films_with_year": sum(t.year is not None for t in films.texts)}}
    if fitted.words is not None:
        c, scores = fitted.c["words"]
        report["words_model"] = {"C": c, "C_scores": scores, "training_films_with_words": int(films.with_words.sum()),
                                 "validation_posters_with_words": sum(bool(t.words) for t in texts),
                                 "tokens": "each line whole, its word 1-2-grams and character 3-5-grams"}
    return report


def save(result: TextResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    words = {} if result.words is None else {"words_weights": result.words[0].astype(np.float16),
                                             "words_bias": result.words[1]}
    np.savez_compressed(out / TEXT_ARTIFACT, weights=result.weights.astype(np.float16), bias=result.bias, **words,
                        **{f"fusion_{mode}": weights for mode, weights in result.fusion.items()})


def refit(config: TrainConfig, data: Data, report: dict, val_image: np.ndarray) -> dict:
    """Refit the text and words models and the fusion for a finished run's image model (its report and its
    probabilities of the validation posters, over its served genres), save them in `config.out`, and return the
    report with their part. The out-of-fold poster probabilities are the run's own: stage 1's probe refitted on
    the cached features, for as many epochs, with the run's prior shift."""
    served = served_labels(report)
    keep = [data.labels.index(g) for g in served]
    oof = sigmoid(logit(out_of_fold_probe(config, data, probe_epochs(report))[:, keep])  # as train.train
                  + prior_shifts(report, served))
    result = fit_text_and_fusion(data.train, data.val, served, oof, val_image, config.seed,
                                 words_of(config.words_cache, data.posters))
    save(result, config.out)
    return {**report, "text": result.report}


def main() -> None:
    """Refit the text and words models and the fusion for the last training run's image model, and add them to its
    report."""
    config = parse_args(sys.argv[1:])
    data = Data.load(config)
    saved = np.load(config.out / PREDICTIONS)
    if [Path(f) for f in saved["files"]] != [p.path for p in data.val]:
        raise SystemExit("The saved validation probabilities are of other posters: run python -m train.train.")
    write_report(refit(config, data, read_report(config.reports_dir), saved["model"]), config.reports_dir)


if __name__ == "__main__":
    main()
