"""The exported ONNX model on onnxruntime's CPU provider: its card, probabilities and maps, ranks and tags.

`poster_genre.analysis` runs it over posters; `poster_genre.classifier.GenreClassifier` adds `classify`, the
Python API over that one path."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from poster_genre.answer import Prediction, top_k_count
from poster_genre.card import ModelCard
from poster_genre.rules import review_reasons, tagged
from poster_genre.text import (
    TEXT_NAME,
    TextInput,
    TextInputError,
    TextModel,
    TextModelError,
    first_line,
    text_model_beside,
)

PACKAGE_MODEL = Path(__file__).resolve().parent / "model.onnx"  # bundled into the wheel at build time
CHECKOUT_MODEL = Path(__file__).resolve().parents[1] / "model.onnx"  # the Space's model, in a clone
IN_MEMORY = Path("<model bytes>")  # the path shown for a model given as bytes
MAPS_OUTPUT = "genre_maps"  # the optional second output: per-genre activation maps (N, h, w, labels)


class ModelNotFoundError(FileNotFoundError):
    """No readable model at the path tried; the message names it."""


def default_model() -> Path:
    """$POSTER_GENRE_MODEL, else the package's model (an installed wheel's), else the checkout's."""
    if os.environ.get("POSTER_GENRE_MODEL"):
        return Path(os.environ["POSTER_GENRE_MODEL"])
    return PACKAGE_MODEL if PACKAGE_MODEL.exists() else CHECKOUT_MODEL


def default_threads() -> int:
    """$POSTER_GENRE_THREADS, else every core this process may use."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return int(os.environ.get("POSTER_GENRE_THREADS", "0")) or usable


class GenreModel:
    """Loads `model.onnx` once; labels, input size and thresholds come from its metadata (the model card)."""

    def __init__(self, model_path: str | os.PathLike | bytes | None = None, threads: int | None = None,
                 text_model: str | os.PathLike | bytes | None = None) -> None:
        """`model_path` may also be the model file's bytes (as Ray actors get it from the object store).

        The text model is `text_model`, else `model.text.onnx` beside the model when it is there and
        has the model's genres; without one, titles and years are refused."""
        in_memory = isinstance(model_path, bytes)
        path = IN_MEMORY if in_memory else Path(model_path) if model_path is not None else default_model()
        if not in_memory and not path.is_file():
            raise ModelNotFoundError(f"No model file at {path}.")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.threads = threads or default_threads()  # onnxruntime's intra-op threads (the words reader's too)
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads sleep: spinning
        # ones slowed the words reader beside the model run, and the model run itself (docs/benchmarks.md)
        try:
            self.session = ort.InferenceSession(model_path if in_memory else str(path), options,
                                                providers=["CPUExecutionProvider"])
            self.card = ModelCard.from_metadata(self.session.get_modelmeta().custom_metadata_map)
        except Exception as error:  # onnxruntime raises its own exception types for unreadable files
            raise ModelNotFoundError(f"Cannot load the model at {path}: {first_line(error)}") from error
        self.path = path
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name  # the probabilities
        self.has_maps = MAPS_OUTPUT in {output.name for output in self.session.get_outputs()}
        self.text_problem = f"there is no {TEXT_NAME} beside {path.name}"  # why titles are refused, when they are
        self.text = self._text_model(text_model, None if in_memory else text_model_beside(path))

    def _text_model(self, given: str | os.PathLike | bytes | None, beside: Path | None) -> TextModel | None:
        """The text model given (any problem with it is a ModelNotFoundError), else the one beside the model
        when it is there (a problem with that one is a warning, and titles are then refused saying why)."""
        model = given if given is not None else beside
        if model is None or (not isinstance(model, bytes) and not Path(model).is_file()):
            if given is not None:
                raise ModelNotFoundError(f"No text model file at {given}.")
            return None
        try:
            text = TextModel(model, threads=1)
            if text.labels != self.labels:
                raise TextModelError(f"the text model at {model} has the genres {', '.join(text.labels)}, not this "
                                     f"model's ({', '.join(self.labels)})")
        except TextModelError as error:
            if given is not None:
                raise ModelNotFoundError(str(error)) from error
            self.text_problem = str(error)
            warnings.warn(f"Titles and years are refused: {error}.", stacklevel=3)
            return None
        return text

    @property
    def labels(self) -> tuple[str, ...]:
        return self.card.labels

    @property
    def input_size(self) -> tuple[int, int]:
        return self.card.input_size

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """One sigmoid probability per genre for a float32 batch (N, H, W, 3)."""
        return self._run([self.output_name], batch)[0]

    def probabilities_and_maps(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and per-genre activation maps (N, h, w, labels), from one run of the model."""
        if not self.has_maps:
            raise ValueError(f"The model at {self.path} has no {MAPS_OUTPUT} output; re-export it.")
        probs, maps = self._run([self.output_name, MAPS_OUTPUT], batch)
        return probs, maps

    def _run(self, outputs: list[str], batch: np.ndarray) -> list[np.ndarray]:
        """One onnxruntime call (which computes every output of the graph, whichever are fetched)."""
        return self.session.run(outputs, {self.input_name: batch.astype(np.float32, copy=False)})

    def rank(self, probabilities: Sequence[float], top_k: int | None = None) -> list[Prediction]:
        """The top_k (default all) genres of one probability row, most confident first."""
        order = np.argsort(-np.asarray(probabilities), kind="stable")[: top_k or len(self.labels)]
        return [Prediction(self.labels[i], float(probabilities[i])) for i in order]

    def tags(self, probabilities: Sequence[float], mode: str | None = None) -> list[str]:
        """The tag set of one probability row, most likely first: every genre at or above its threshold from the
        model card (possibly none), or from the text model's card for an answer that also rests on a title or
        year (`mode`)."""
        thresholds = self.thresholds(mode)
        tags = {label for label, is_tag in zip(self.labels, tagged(np.asarray(probabilities), thresholds, self.labels))
                if is_tag}
        return [p.label for p in self.rank(probabilities) if p.label in tags]

    def thresholds(self, mode: str | None = None) -> dict[str, float | None]:
        """Each genre's threshold for an answer on the poster alone, or also on a title or year (`mode`); None for
        a genre served as a probability only (never tagged: its tags were not right often enough)."""
        return self.card.thresholds if mode is None else self.text.thresholds(mode)

    def tag_status(self, mode: str | None = None) -> dict[str, dict]:
        """Each genre's tag status from the card (tagged, its validation precision; or a probability only and why)
        for the mode's answers; empty for a model whose card predates the tag rule."""
        return self.card.tag_status if mode is None else self.text.tag_status(mode)

    def needs_review(self, top_probability: float, min_confidence: float, measured: dict, words_found: bool = False
                     ) -> list[str]:
        """Why an answer needs a person's review (`poster_genre.rules.review_reasons`); empty when it does not."""
        return review_reasons(top_probability, min_confidence, measured, self.card.review.get("limits"), words_found)

    @property
    def reads_words(self) -> bool:
        """Whether this model's answers can use the words printed on a poster (its text model has a words model)."""
        return self.text is not None and self.text.reads_words

    def words_wanted(self, asked: bool | None = None) -> bool:
        """Whether to read the words on a poster: as `asked`, else when this model can use them and the OCR engine
        is installed."""
        return bool(asked) if asked is not None else self.words_problem() is None

    def words_problem(self) -> str | None:
        """Why the words printed on a poster cannot be used here (no words model, or no OCR engine), else None."""
        if self.text is None:
            return f"there is no words model ({self.text_problem})"
        if not self.text.reads_words:
            return f"the text model beside {self.path.name} has no words model"
        # the poster-only path never imports the OCR side
        from poster_genre.words import words_available

        return None if words_available() else 'the OCR engine is not installed (pip install "poster-genre[words]")'

    def unavailable_inputs(self) -> dict[str, str]:
        """The inputs besides the poster that this model cannot use here, each with why (empty: it can use all)."""
        missing = {"the film's title and year": self.text_problem} if self.text is None else {}
        words = self.words_problem()
        return {**missing, "the words on the poster": words} if words else missing

    def usable(self, text: TextInput) -> TextInput:
        """The part of `text` this model can use: the words read on the poster only with a words model."""
        return self.text.usable(text) if self.text is not None else replace(text, words=())

    def fuse(self, probabilities: np.ndarray, text: TextInput) -> np.ndarray:
        """The poster's probabilities combined with a title, year and words; unchanged without any."""
        if text.mode is None:
            return probabilities
        if self.text is None:
            raise TextInputError(f"The model at {self.path} cannot use a title or year ({self.text_problem}); leave "
                                 "them out.")
        return self.text.fuse(probabilities, text)

    def top_k_count(self, top_k: object) -> int:
        """`top_k` as a number of this model's genres (`poster_genre.answer.top_k_count`)."""
        return top_k_count(top_k, len(self.labels))
