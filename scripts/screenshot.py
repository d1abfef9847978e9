"""Take the README screenshot from the real app in Debian's headless Chromium.

    .venv/bin/python -m scripts.screenshot [--out docs/screenshot.png] [--many docs/many-posters]

The posters in the picture (upload and examples) are drawn here, so no TMDB artwork ends up
in the repository. --many also takes the "Many posters" tab's table, at a desktop's width and a phone's
(`<many>.png`, `<many>-phone.png`).
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


SKIES = [(20, 24, 60), (90, 20, 20), (10, 70, 60), (60, 40, 10), (30, 30, 30), (70, 10, 70)]
TITLES = ["NIGHT SHIFT", "LAUGH TRACK", "THE LAST WAR", "SUMMER LOVE", "DEEP SPACE", "HAUNTED HOUSE"]


def many_posters(browser, url: str, stack: list[Path], stem: Path) -> None:
    """The "Many posters" tab after tagging `stack`, at a desktop's width and a phone's."""
    for suffix, viewport in (("", {"width": 1200, "height": 760}), ("-phone", {"width": 390, "height": 844})):
        page = browser.new_page(viewport=viewport)
        open_page(page, url)
        page.get_by_role("tab", name="Many posters").click()
        page.set_input_files("#many-files input[type=file]", [str(p) for p in stack])
        page.wait_for_selector(f"#many-files [aria-label='{stack[-1].name}']", timeout=60_000)
        page.click("#many-start")
        page.wait_for_function(f"() => document.querySelectorAll('#many-table tbody tr').length === {len(stack)}",
                               timeout=120_000)
        page.wait_for_timeout(500)
        page.screenshot(path=f"{stem}{suffix}.png", full_page=True)
        page.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshot.png")
    parser.add_argument("--many", type=Path, help="also the many-poster table: <MANY>.png and <MANY>-phone.png")
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
                page.wait_for_selector("#changed:has-text('Poster alone')", timeout=60_000)
                page.wait_for_timeout(1000)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out), full_page=True)
                if args.many:
                    stack = [drawn_poster(Path(tmp) / f"film-{i}.png", sky, title) for i, (sky, title) in
                             enumerate(zip(SKIES, TITLES))]
                    many_posters(browser, server.url, stack, args.many)
                browser.close()
        finally:
            server.stop()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
