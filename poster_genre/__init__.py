"""poster-genre: movie-poster genre classification served from an ONNX model (no TensorFlow)."""

from poster_genre.analysis import Refusal
from poster_genre.card import ModelCard
from poster_genre.classifier import GenreClassifier, ModelNotFoundError, Prediction, Tagging
from poster_genre.preprocess import InvalidImageError, load_image, preprocess
from poster_genre.text import TextInputError

__version__ = "4.0.0"
# A model's genres come from its card: GenreClassifier().labels.
__all__ = ["GenreClassifier", "InvalidImageError", "ModelCard", "ModelNotFoundError", "Prediction", "Refusal",
           "Tagging", "TextInputError", "__version__", "load_image", "preprocess"]
