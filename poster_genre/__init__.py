"""poster-genre: movie-poster genre classification served from an ONNX model (no TensorFlow)."""

from poster_genre.card import ModelCard
from poster_genre.classifier import GenreClassifier, ModelNotFoundError, Prediction, Tagging
from poster_genre.labels import GENRES
from poster_genre.preprocess import InvalidImageError, load_image, preprocess

__version__ = "2.0.0"
__all__ = ["GENRES", "GenreClassifier", "InvalidImageError", "ModelCard", "ModelNotFoundError", "Prediction", "Tagging",
           "__version__", "load_image", "preprocess"]
