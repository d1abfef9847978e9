"""poster-genre: movie-poster genre classification served from an ONNX model (no TensorFlow)."""

from poster_genre.card import ModelCard
from poster_genre.classifier import GenreClassifier, Prediction
from poster_genre.labels import GENRES
from poster_genre.preprocess import InvalidImageError, load_image, preprocess

__version__ = "1.0.0"
__all__ = ["GENRES", "GenreClassifier", "InvalidImageError", "ModelCard", "Prediction", "load_image", "preprocess"]
