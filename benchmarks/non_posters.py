"""Images that are not film posters, and how often the review rule flags them and the validation posters.

    python -m benchmarks.non_posters [--model model.onnx] [--posters 1000]

`non_posters()` draws the test set with Pillow (nothing is downloaded): flat colours, near-flat images,
noise, rendered "no poster available" placeholders, screenshots of text and smooth photo-like images with no
poster layout. The tests use the same set. The limits are the model card's `review` (`export.review`, from the validation posters).
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from export.review import measured, review_posters
from poster_genre import GenreClassifier
from poster_genre.card import ModelCard
from poster_genre.rules import review_reasons
from train.data import data_dir_from_env, imdb_dir_from_env

SIZE = (300, 450)
PLACEHOLDERS = ("NO POSTER AVAILABLE", "No Image Available", "IMAGE NOT FOUND", "Coming Soon", "N/A")


def _text_image(lines: list[str], background: str, ink: str, size: int, spacing: int = 0, box: bool = False,
                canvas: tuple[int, int] = SIZE) -> Image.Image:
    image = Image.new("RGB", canvas, background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=size)
    if box:
        draw.rectangle((canvas[0] // 4, canvas[1] // 4, 3 * canvas[0] // 4, canvas[1] // 2), outline=ink, width=4)
    top = canvas[1] // 2 + 10 if not spacing else 10
    for i, line in enumerate(lines):
        draw.text((12, top + i * (spacing or size + 6)), line, fill=ink, font=font)
    return image


def _smooth_photo(rng: np.random.Generator, canvas: tuple[int, int]) -> Image.Image:
    noise = rng.integers(0, 256, (canvas[1] // 8, canvas[0] // 8, 3), dtype=np.uint8)
    return Image.fromarray(noise).resize(canvas, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(6))


def non_posters(seed: int = 0) -> dict[str, Image.Image]:
    """Named images that are not film posters, drawn with Pillow."""
    rng = np.random.default_rng(seed)
    images = {f"flat {name}": Image.new("RGB", SIZE, colour)
              for name, colour in (("grey", (128, 128, 128)), ("black", (0, 0, 0)), ("white", (255, 255, 255)),
                                   ("navy", (20, 30, 90)), ("red", (200, 30, 30)))}
    grey = np.full((SIZE[1], SIZE[0], 3), 128.0)
    images["near-flat grey"] = Image.fromarray(np.clip(grey + rng.normal(0, 2, grey.shape), 0, 255).astype(np.uint8))
    ramp = np.linspace(40, 220, SIZE[1])[:, None, None] * np.ones((1, SIZE[0], 3))
    images["vertical gradient"] = Image.fromarray(ramp.astype(np.uint8))
    images["uniform noise"] = Image.fromarray(rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8))
    images["grey noise"] = Image.fromarray(np.clip(rng.normal(128, 60, (SIZE[1], SIZE[0])), 0, 255)
                                           .astype(np.uint8)).convert("RGB")
    for i, words in enumerate(PLACEHOLDERS):
        background, ink = (("#dddddd", "#555555"), ("white", "black"), ("black", "white"))[i % 3]
        images[f"placeholder {words}"] = _text_image([words], background, ink, 22, box=i % 2 == 0)
    prose = [" ".join(rng.choice(["the", "film", "cast", "release", "date", "runtime", "genre", "studio", "2024",
                                  "rating", "review", "of", "and"], 6)) for _ in range(34)]
    images["text screenshot"] = _text_image(prose, "white", "black", 11, spacing=13)
    images["text screenshot, dark"] = _text_image(prose, "#1e1e1e", "#d4d4d4", 11, spacing=13)
    images["wide text screenshot"] = _text_image(prose[:20], "white", "#222222", 12, spacing=14, canvas=(800, 450))
    images["smooth photo"] = _smooth_photo(rng, SIZE)
    images["wide smooth photo"] = _smooth_photo(rng, (800, 450))
    checks = (np.indices((SIZE[1] // 25, SIZE[0] // 25)).sum(0) % 2 * 255).astype(np.uint8)
    images["checkerboard"] = Image.fromarray(checks).resize(SIZE, Image.Resampling.NEAREST).convert("RGB")
    return images


def flag_reasons(card: ModelCard, sources: list) -> list[list[str]]:
    """The review rule's reasons (beyond the top probability) for each source, under the card's limits."""
    if not card.review.get("limits"):
        raise SystemExit("The model's card has no review limits: python -m export.review MODEL")
    return [review_reasons(1.0, 0.0, m, card.review["limits"]) for m in measured(card, sources)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="default: the served model")
    parser.add_argument("--posters", type=int, default=0, help="a seeded draw of validation posters (0: all)")
    args = parser.parse_args(argv)
    card = GenreClassifier(args.model).card
    posters = review_posters(data_dir_from_env(), imdb_dir_from_env(), args.posters, seed=1)
    flagged = sum(map(bool, flag_reasons(card, posters)))
    print(f"limits {card.review['limits']}")
    print(f"validation posters flagged: {flagged}/{len(posters)} ({flagged / len(posters):.2%})")
    images = non_posters()
    reasons = dict(zip(images, flag_reasons(card, list(images.values()))))
    for name, why in reasons.items():
        print(f"  {name}: {'; '.join(why) or 'NOT FLAGGED'}")
    hits = sum(map(bool, reasons.values()))
    print(f"generated non-posters flagged: {hits}/{len(reasons)} ({hits / len(reasons):.0%})")


if __name__ == "__main__":
    main()
