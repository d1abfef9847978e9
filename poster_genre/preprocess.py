"""The one preprocessing function shared by training, export checks, the app and the CLI.

A poster goes in as a path, bytes, a file object or a PIL image; out comes a float32
array of shape (height, width, 3) holding RGB values in 0..255. The model normalises
internally, so nothing here rescales colours.
"""

from __future__ import annotations

import io
import warnings
from os import PathLike
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ImageSource = Union[str, PathLike, bytes, BinaryIO, Image.Image]

MAX_PIXELS = 40_000_000  # larger declared sizes are refused before decoding (decompression bombs)
MIN_SIDE = 16  # smaller images carry no poster to classify
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})  # looked for in folders
RESIZE_POLICY = "center-crop to the model's aspect ratio, then bilinear resize"


class InvalidImageError(ValueError):
    """The input is not an image this project can classify; the message says why."""


def load_image(source: ImageSource) -> Image.Image:
    """Decode `source` into an upright 8-bit RGB image, or raise InvalidImageError."""
    image = source if isinstance(source, Image.Image) else _open(source)
    _check_size(image.size)
    try:
        image.seek(0)  # first frame of an animation
        image = ImageOps.exif_transpose(image)
        return _to_rgb(image)
    except (OSError, ValueError, SyntaxError) as error:
        raise InvalidImageError(f"The image file is damaged or truncated ({error}).") from error


def fit_to_input(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Crop `image` to the aspect ratio of `size` (height, width), resize, return float32 HxWx3."""
    height, width = size
    fitted = ImageOps.fit(image, (width, height), method=Image.Resampling.BILINEAR)
    return np.asarray(fitted, dtype=np.float32)


def load_for_model(source: ImageSource, size: tuple[int, int]) -> Image.Image:
    """`load_image`, letting a large JPEG decode at a reduced scale that still leaves twice `size`."""
    image = source if isinstance(source, Image.Image) else _open(source)
    _check_size(image.size)
    _decode_jpeg_smaller(image, size)
    return load_image(image)


def preprocess(source: ImageSource, size: tuple[int, int]) -> np.ndarray:
    """Load a poster and turn it into model input of shape (height, width, 3), RGB 0..255."""
    return fit_to_input(load_for_model(source, size), size)


def _decode_jpeg_smaller(image: Image.Image, size: tuple[int, int]) -> None:
    """Let a large JPEG decode at a reduced scale that still leaves twice the input size."""
    if image.format == "JPEG" and image.mode in ("RGB", "L"):
        side = 2 * max(size)
        image.draft(image.mode, (side, side))


def _open(source: ImageSource) -> Image.Image:
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise InvalidImageError("The file is empty (0 bytes).")
        source = io.BytesIO(source)
    elif isinstance(source, (str, PathLike)):
        try:
            with open(source, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise InvalidImageError(f"Cannot read the file: {error.strerror or error}.") from error
        return _open(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(source)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise InvalidImageError("The image declares too many pixels to decode safely.") from error
    except UnidentifiedImageError as error:
        raise InvalidImageError("The file is not an image in a format this app can read.") from error
    except (OSError, ValueError, SyntaxError) as error:
        raise InvalidImageError(f"The image file is damaged or truncated ({error}).") from error


def _check_size(size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise InvalidImageError(
            f"The image is {width}x{height} pixels; at most {MAX_PIXELS:,} pixels are accepted."
        )
    if min(width, height) < MIN_SIDE:
        raise InvalidImageError(
            f"The image is {width}x{height} pixels; each side must be at least {MIN_SIDE} pixels."
        )


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB: transparency on white, high bit depths scaled to 8 bits."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I") and values.max(initial=0) > 255 else 255.0
        grey = np.clip(values * (255.0 / peak), 0, 255).round().astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")
