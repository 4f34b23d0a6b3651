"""Regenerate the web UI screenshots in docs/screenshots/ (one per tab), with a real Chromium.

    python scripts/screenshots.py [--chromium /usr/bin/chromium]

Starts ``python app.py`` on a free loopback port, runs the bundled examples through the Analyze and
Compare tabs, and saves ``analyze.png`` and ``compare.png``. Needs the Python package ``playwright`` and
a Chromium binary (Debian: ``apt-get install chromium``); no browser is downloaded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from local_app import ROOT, free_port, start_app

OUT = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def analyze_example(page) -> None:
    """Click the first bundled example on the Analyze tab and run it."""
    page.get_by_role("tab", name="Analyze").click()
    page.locator("#analyze-button").wait_for()
    page.get_by_text("S_509.jpg (real photo", exact=False).first.click()
    page.locator('#analyze-photos [aria-label="S_509.jpg"]').wait_for(timeout=20_000)
    page.locator("#analyze-button").click()
    page.locator("#analyze-status").get_by_text("Analysed").wait_for(timeout=120_000)
    page.locator("#analyze-metrics").get_by_text("Hairs counted").wait_for(timeout=20_000)


def compare_example(page) -> None:
    """Click the synthetic before/after example on the Compare tab and run it."""
    page.get_by_role("tab", name="Compare before / after").click()
    page.locator("#compare-button").wait_for()
    if page.locator("#compare-button").is_disabled():
        print("Compare is not available in this installation: screenshot shows the tab as it is")
        return
    page.get_by_text("Synthetic before/after pair", exact=False).first.click()
    page.locator("#compare-after img").first.wait_for(timeout=20_000)
    page.locator("#compare-button").click()
    page.locator("#compare-status").get_by_text("Compared").wait_for(timeout=180_000)
    page.locator("#compare-slider img").first.wait_for(timeout=20_000)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="densitometry-shots-") as temp_dir:
        process = start_app(port := free_port(), temp_dir)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": args.width, "height": 1000}, device_scale_factor=1)
                page.goto(f"http://127.0.0.1:{port}/")
                analyze_example(page)
                page.wait_for_timeout(1500)
                page.screenshot(path=OUT / "analyze.png", full_page=True)
                compare_example(page)
                page.wait_for_timeout(1500)
                page.screenshot(path=OUT / "compare.png", full_page=True)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    for name in ("analyze.png", "compare.png"):
        print(OUT / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
