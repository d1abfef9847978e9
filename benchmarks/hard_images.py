"""Images that make the words reader work hardest, generated: a text document's screenshot, small print, noise
(`benchmarks.reading`, `benchmarks.words --callers` and the words tests)."""

from __future__ import annotations

import numpy as np
from PIL import Image

PROSE = ("The committee met on Tuesday to review the quarterly figures and agreed that the budget for the coming "
         "year should be set at the same level as last year, with a small allowance for repairs to the building.")


def text_screenshot() -> Image.Image:
    """A phone-sized screenshot of a text document: 34 lines of black prose on white (the hardest of the sizes tried
    for the reader: docs/benchmarks.md)."""
    from PIL import ImageDraw, ImageFont

    image = Image.new("RGB", (800, 1200), "white")
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=24)
    for row in range(34):
        start = (row * 37) % 100
        draw.text((20, 20 + 34 * row), (PROSE * 3)[start:start + 200], font=font, fill="black")
    return image


def dense_small_print() -> Image.Image:
    """A poster covered in small print (a credit block over the whole sheet) under one big title."""
    from PIL import ImageDraw, ImageFont

    image = Image.new("RGB", (500, 750), (30, 30, 50))
    draw = ImageDraw.Draw(image)
    draw.text((40, 30), "NIGHTFALL", font=ImageFont.load_default(size=80), fill=(240, 220, 160))
    small = ImageFont.load_default(size=9)
    for row in range(55):
        draw.text((10, 140 + 11 * row), (PROSE * 3)[row * 13:row * 13 + 110], font=small, fill=(200, 200, 200))
    return image


def noise_image() -> Image.Image:
    """A w500-sized image of random pixels."""
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (750, 500, 3), dtype=np.uint8))
