"""The one preprocessing function shared by training, export checks, the app and the CLI.

A poster goes in as a path, bytes, a file object, a PIL image or a numpy array (H, W, 3) of
uint8 RGB; out comes a float32 array of shape (height, width, 3) holding RGB values in 0..255. The model normalises
internally, so nothing here rescales colours.
"""

from __future__ import annotations

import ctypes
import functools
import io
import warnings
from os import PathLike
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ImageSource = str | PathLike | bytes | bytearray | memoryview | BinaryIO | Image.Image | np.ndarray
ACCEPTED = ("a path (str or pathlib.Path), bytes, a file object opened in binary mode, a PIL image, "
            "or a numpy array of uint8 RGB values (height, width, 3) or grey levels (height, width)")

MAX_PIXELS = 40_000_000  # larger declared sizes are refused before decoding (decompression bombs)
MIN_SIDE = 16  # smaller images carry no poster to classify
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})  # looked for in folders
RESIZE_POLICY = "center-crop to the model's aspect ratio, then bilinear resize"


class InvalidImageError(ValueError):
    """The input is not an image this project can classify; the message says why."""


class UnsupportedInputError(InvalidImageError, TypeError):
    """The input is of a type that cannot hold a poster (a dict, a number, ...); the message lists those that can."""


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


@functools.cache
def _c_library() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): nothing to give back this way
        return None


def give_back_memory() -> None:
    """Give the memory freed after decoding a large image back to the system. glibc keeps freed blocks of this size
    for reuse, so without it a server's memory stays at its largest image's high-water mark."""
    library = _c_library()
    if library is not None and hasattr(library, "malloc_trim"):
        library.malloc_trim(0)


def describe(source: object) -> str:
    """A short name of an input for messages: the path, or what kind of object it is."""
    if isinstance(source, (str, PathLike)):
        return str(source)
    if isinstance(source, np.ndarray):
        return f"numpy array {source.shape} {source.dtype}"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"{type(source).__name__} ({len(source):,} bytes)"
    name = getattr(source, "name", None)  # an open file's path
    if isinstance(name, str):
        return name
    return f"{type(source).__module__.split('.')[0]}.{type(source).__name__}".removeprefix("builtins.")


def from_array(array: np.ndarray) -> Image.Image:
    """A numpy array of uint8 RGB (H, W, 3), RGBA (H, W, 4) or grey (H, W) as a PIL image, or a clear refusal."""
    if array.dtype != np.uint8:
        raise InvalidImageError(f"A numpy array poster must hold uint8 values 0..255, not {array.dtype}; "
                                "convert it with array.astype(np.uint8) after scaling to 0..255.")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise InvalidImageError(f"A numpy array poster must be (height, width, 3) RGB, (height, width, 4) RGBA or "
                                f"(height, width) grey, not of shape {array.shape}.")
    return Image.fromarray(np.ascontiguousarray(array))


def _open(source: ImageSource) -> Image.Image:
    if isinstance(source, np.ndarray):
        return from_array(source)
    if isinstance(source, memoryview):
        source = source.tobytes()
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
    elif not callable(getattr(source, "read", None)):
        raise UnsupportedInputError(f"Cannot read a poster from a {describe(source)}; give {ACCEPTED}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(source)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise InvalidImageError("The image declares too many pixels to decode safely.") from error
    except UnidentifiedImageError as error:
        if _is_svg(source):
            raise InvalidImageError("SVG (vector) images are not supported; save the poster as JPEG or PNG.") from error
        raise InvalidImageError("The file is not an image in a format this app can read.") from error
    except (OSError, ValueError, SyntaxError) as error:
        raise InvalidImageError(f"The image file is damaged or truncated ({error}).") from error


def _is_svg(stream: BinaryIO) -> bool:
    """Whether the stream starts like an SVG document (an XML prolog or comment, then an <svg> element)."""
    try:
        stream.seek(0)
        head = bytes(stream.read(4096)).lstrip().lower()
    except (OSError, AttributeError, TypeError, ValueError):  # a stream that cannot be reread
        return False
    return head.startswith(b"<svg") or (head.startswith((b"<?xml", b"<!--", b"<!doctype svg")) and b"<svg" in head)


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
