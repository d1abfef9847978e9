"""Awkward and broken image files, generated at test time.

Each maker writes a file into a folder and returns its path. `EXPECT` says whether the
project must classify the file ("ok") or refuse it with a clear message ("error").
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import synthetic_poster


def truncated_jpeg(folder: Path) -> Path:
    buffer = io.BytesIO()
    synthetic_poster(3, (300, 450)).save(buffer, "JPEG")
    path = folder / "truncated.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 3])
    return path


def empty_file(folder: Path) -> Path:
    path = folder / "empty.jpg"
    path.write_bytes(b"")
    return path


def text_as_jpeg(folder: Path) -> Path:
    path = folder / "notes.jpg"
    path.write_text("These are not the pixels you are looking for.\n" * 20)
    return path


def decompression_bomb(folder: Path) -> Path:
    """A valid PNG of a few hundred bytes that declares 100000 x 100000 pixels."""
    width = height = 100_000

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    row = b"\x00" + b"\x00" * width
    compressor = zlib.compressobj(9)
    data = compressor.compress(row * 16) + compressor.flush()  # a few rows; the decoder never gets far
    path = folder / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def very_wide(folder: Path) -> Path:
    path = folder / "wide.png"
    Image.fromarray(np.tile(np.arange(20, dtype=np.uint8)[:, None, None] * 12, (1, 20000, 3))).save(path)
    return path


def one_pixel(folder: Path) -> Path:
    path = folder / "pixel.png"
    Image.new("RGB", (1, 1), (200, 30, 30)).save(path)
    return path


def cmyk_jpeg(folder: Path) -> Path:
    path = folder / "cmyk.jpg"
    synthetic_poster(4, (200, 300)).convert("CMYK").save(path, "JPEG")
    return path


def sixteen_bit_png(folder: Path) -> Path:
    path = folder / "grey16.png"
    ramp = (np.linspace(0, 65535, 300 * 200).reshape(300, 200)).astype(np.uint16)
    Image.fromarray(ramp).save(path)
    return path


def palette_png(folder: Path) -> Path:
    path = folder / "palette.png"
    synthetic_poster(5, (200, 300)).quantize(64).save(path)
    return path


def rgba_png(folder: Path) -> Path:
    """Fully transparent everywhere: composited on white it must be white, not black."""
    path = folder / "transparent.png"
    Image.new("RGBA", (200, 300), (0, 0, 0, 0)).save(path)
    return path


def animated_gif(folder: Path) -> Path:
    path = folder / "animated.gif"
    frames = [Image.new("RGB", (200, 300), colour) for colour in ((250, 10, 10), (10, 250, 10), (10, 10, 250))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def exif_rotated_jpeg(folder: Path, upright: Image.Image | None = None) -> Path:
    """Pixels stored rotated by 90 degrees, with EXIF orientation 6 saying how to turn them back."""
    upright = upright or synthetic_poster(6, (200, 300))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # orientation 6 means: rotate 270 to view
    exif = Image.Exif()
    exif[0x0112] = 6
    path = folder / "rotated.jpg"
    stored.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


MAKERS = {
    truncated_jpeg: "error", empty_file: "error", text_as_jpeg: "error", decompression_bomb: "error",
    one_pixel: "error", very_wide: "ok", cmyk_jpeg: "ok", sixteen_bit_png: "ok", palette_png: "ok",
    rgba_png: "ok", animated_gif: "ok", exif_rotated_jpeg: "ok",
}
