"""Take the README screenshot from the real app in Debian's headless Chromium.

    .venv/bin/python scripts/screenshot.py [--out docs/screenshot.png]

The poster in the picture is drawn here, and the examples folder is left empty, so no TMDB
artwork ends up in the repository.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import AppServer, free_port  # noqa: E402
from tests.test_browser import CHROMIUM, FLAGS, LABEL  # noqa: E402


def drawn_poster(path: Path) -> Path:
    """A made-up 2:3 poster: dark sky, a sun, two figures, a title band."""
    poster = Image.new("RGB", (500, 750), (20, 24, 60))
    draw = ImageDraw.Draw(poster)
    for y in range(750):
        draw.line([(0, y), (500, y)], fill=(20 + y // 6, 24 + y // 12, 60 + y // 20))
    draw.ellipse((300, 90, 440, 230), fill=(250, 200, 90))
    for x in (170, 290):
        draw.ellipse((x, 380, x + 40, 420), fill=(15, 15, 20))
        draw.rectangle((x + 5, 420, x + 35, 560), fill=(15, 15, 20))
    draw.rectangle((0, 600, 500, 700), fill=(180, 20, 40))
    draw.text((150, 630), "A MADE-UP POSTER", fill=(255, 255, 255), font_size=24)
    poster.save(path)
    return path


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshot.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        poster = drawn_poster(Path(tmp) / "poster.png")
        empty = Path(tmp) / "examples"
        empty.mkdir()
        server = AppServer(empty, free_port())
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = browser.new_page(viewport={"width": 1200, "height": 760})
                page.goto(server.url, wait_until="networkidle")
                page.set_input_files("input[type=file]", str(poster))
                page.wait_for_selector(LABEL, timeout=60_000)
                page.wait_for_timeout(500)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.stop()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
