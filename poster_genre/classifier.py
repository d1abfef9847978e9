"""Genre predictions from the exported ONNX model, on onnxruntime's CPU provider."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import onnxruntime as ort

from poster_genre.card import ModelCard
from poster_genre.preprocess import ImageSource, preprocess

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "model.onnx"


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float


def default_threads() -> int:
    """$POSTER_GENRE_THREADS, else every core this process may use."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return int(os.environ.get("POSTER_GENRE_THREADS", 0)) or usable


class GenreClassifier:
    """Loads `model.onnx` once; labels and input size come from its metadata."""

    def __init__(self, model_path: str | os.PathLike = DEFAULT_MODEL, threads: int | None = None) -> None:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.card = ModelCard.from_metadata(self.session.get_modelmeta().custom_metadata_map)
        self.input_name = self.session.get_inputs()[0].name

    @property
    def labels(self) -> tuple[str, ...]:
        return self.card.labels

    @property
    def input_size(self) -> tuple[int, int]:
        return self.card.input_size

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Softmax outputs for a preprocessed float32 batch of shape (N, H, W, 3)."""
        return self.session.run(None, {self.input_name: batch.astype(np.float32, copy=False)})[0]

    def prepare(self, images: Iterable[ImageSource]) -> np.ndarray:
        """Preprocess posters into one model batch with the shared preprocessing function."""
        return np.stack([preprocess(image, self.input_size) for image in images])

    def rank(self, probabilities: Sequence[float], top_k: int | None = None) -> list[Prediction]:
        """The top_k (default all) genres of one probability row, most confident first."""
        order = np.argsort(-np.asarray(probabilities), kind="stable")[: top_k or len(self.labels)]
        return [Prediction(self.labels[i], float(probabilities[i])) for i in order]

    def predict(self, image: ImageSource, top_k: int | None = None) -> list[Prediction]:
        """Top-k genres with confidences for one poster."""
        return self.predict_batch([image], top_k)[0]

    def predict_batch(self, images: Sequence[ImageSource], top_k: int | None = None) -> list[list[Prediction]]:
        """Top-k genres with confidences for each poster of a batch."""
        return [self.rank(row, top_k) for row in self.probabilities(self.prepare(images))]
