"""Take the README screenshot from the real app in Debian's headless Chromium.

    .venv/bin/python -m scripts.screenshot [--out docs/screenshot.png]

The posters in the picture (upload and examples) are drawn here, so no TMDB artwork ends up
in the repository.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

from benchmarks.appserver import CHROMIUM, FLAGS, LABEL, AppServer, free_port, open_page

REPO = Path(__file__).resolve().parents[1]


def drawn_poster(path: Path, sky: tuple[int, int, int], title: str) -> Path:
    """A made-up 2:3 poster: a sky fading from `sky`, a sun, two figures, a title band."""
    poster = Image.new("RGB", (500, 750), sky)
    draw = ImageDraw.Draw(poster)
    red, green, blue = sky
    for y in range(750):
        draw.line([(0, y), (500, y)], fill=(red + y // 6, green + y // 12, blue + y // 20))
    draw.ellipse((300, 90, 440, 230), fill=(250, 200, 90))
    for x in (170, 290):
        draw.ellipse((x, 380, x + 40, 420), fill=(15, 15, 20))
        draw.rectangle((x + 5, 420, x + 35, 560), fill=(15, 15, 20))
    draw.rectangle((0, 600, 500, 700), fill=(180, 20, 40))
    draw.text((250, 650), title, fill=(255, 255, 255), font_size=24, anchor="mm")
    poster.save(path)
    return path


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshot.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        examples = Path(tmp) / "examples"
        examples.mkdir()
        poster = drawn_poster(examples / "made-up-1.png", (20, 24, 60), "A MADE-UP POSTER")
        drawn_poster(examples / "made-up-2.png", (90, 20, 20), "ANOTHER ONE")
        drawn_poster(examples / "made-up-3.png", (10, 70, 60), "AND A THIRD")
        server = AppServer(examples, free_port())
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = browser.new_page(viewport={"width": 1200, "height": 760})
                open_page(page, server.url)
                page.set_input_files("input[type=file]", str(poster))
                page.wait_for_selector(LABEL, timeout=60_000)
                page.wait_for_selector("#heatmap img[src]", timeout=60_000)
                page.fill("#title textarea", "A Quiet Sunset")
                page.fill("#year textarea", "1994")
                page.press("#year textarea", "Enter")
                page.wait_for_selector("#changed:has-text('What the title and year changed')", timeout=60_000)
                page.wait_for_timeout(1000)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out), full_page=True)
                browser.close()
        finally:
            server.stop()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
