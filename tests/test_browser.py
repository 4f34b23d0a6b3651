"""The web UI in a real browser: Playwright driving Debian's Chromium against ``python app.py``.

Skipped when /usr/bin/chromium (``apt-get install chromium``) or the ``playwright`` package is missing;
no browser is ever downloaded.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

CHROMIUM = Path(os.environ.get("DENSITOMETRY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} missing (apt-get install chromium)"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="playwright not installed"),
    pytest.mark.skipif(importlib.util.find_spec("gradio") is None, reason="gradio (ui extra) not installed"),
]
needs_compare = pytest.mark.skipif(
    importlib.util.find_spec("densitometry.compare") is None,
    reason="densitometry.compare (before/after) has not landed in this checkout yet",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    import httpx

    port = _free_port()
    env = {**os.environ, "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio"))}
    process = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"app.py exited with {process.returncode}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail("app.py did not start within 180 s")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh page on the app that records every request leaving the machine."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.external_requests = []

    def record(request):
        host = urlparse(request.url).hostname
        if request.url.startswith(("http://", "https://", "ws://", "wss://")) and host not in (
            "127.0.0.1",
            "localhost",
        ):
            page.external_requests.append(request.url)

    page.on("request", record)
    page.goto(app_url)
    page.locator("#analyze-button").wait_for(timeout=60_000)
    yield page
    context.close()


def _analyze(page, path: Path, um_per_px: str = "7"):
    page.locator("#analyze-photos input[type=file]").set_input_files(str(path))
    page.locator(f'#analyze-photos [aria-label="{path.name}"]').wait_for(timeout=30_000)
    page.locator("#analyze-um-per-px input").fill(um_per_px)
    page.locator("#analyze-button").click()
    status = page.locator("#analyze-status")
    status.get_by_text(re.compile("Working|Done|Error")).wait_for(timeout=10_000)
    status.get_by_text(re.compile("^(Done|Error):")).wait_for(timeout=180_000)
    return status.inner_text()


def _table_rows(page, selector: str, labels) -> dict[str, list[str]]:
    """Cells following each row label in a rendered gr.Dataframe (read from its visible text)."""
    lines = [line.strip() for line in page.locator(selector).inner_text().split("\n") if line.strip()]
    rows = {}
    for index, line in enumerate(lines):
        if line in labels and line not in rows:
            following = []
            for cell in lines[index + 1 :]:
                if cell in labels:
                    break
                following.append(cell)
            rows[line] = following
    return rows


def test_analyze_a_photo(page):
    import densitometry

    photo = EXAMPLES / "S_509.jpg"
    status = _analyze(page, photo)
    assert status.startswith("Done"), status
    expected = densitometry.analyze(photo, um_per_px=7.0)
    from densitometry.webui_handlers import empty_metrics_table

    metrics = _table_rows(page, "#analyze-metrics", set(empty_metrics_table()["Metric"]))
    assert metrics["Hairs counted"] == [str(expected.hair_count)]
    assert metrics["Density (hairs/cm²)"] == [f"{expected.density_per_cm2:,.0f}"]
    overlay = page.locator("#analyze-overlay img").first
    overlay.wait_for()
    assert overlay.evaluate("img => img.complete && img.naturalWidth") == 640
    assert page.locator("#analyze-quality").inner_text().strip()
    page.locator('[aria-label="densitometry_hairs.csv"]').first.wait_for(timeout=10_000)
    assert page.external_requests == []


def test_analyze_within_a_region(page, tmp_path):
    import cv2

    import densitometry

    photo = EXAMPLES / "S_509.jpg"
    mask = np.zeros(cv2.imread(str(photo)).shape[:2], np.uint8)
    mask[:, : mask.shape[1] // 2] = 255  # the left half
    region = tmp_path / "left_half.png"
    cv2.imwrite(str(region), mask)
    page.get_by_text("Region: leave out burned-in text").click()
    page.locator("#analyze-region input[type=file]").set_input_files(str(region))
    page.locator('#analyze-region [aria-label="left_half.png"]').wait_for(timeout=30_000)
    status = _analyze(page, photo)
    assert status.startswith("Done"), status
    expected = densitometry.analyze(photo, um_per_px=7.0, region=region)
    from densitometry.webui_handlers import empty_metrics_table

    metrics = _table_rows(page, "#analyze-metrics", set(empty_metrics_table()["Metric"]))
    assert metrics["Hairs counted"] == [str(expected.hair_count)]
    assert metrics["Share of photo in the field"] == [f"{100 * expected.field_fraction:.0f} %"]


def test_bad_file_shows_a_message_and_the_app_keeps_working(page, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a photo")
    status = _analyze(page, bad)
    assert status.startswith("Error") and "broken.jpg" in status
    assert "Traceback" not in page.content()
    page.locator("#analyze-photos button[aria-label='Clear']").first.click()
    status = _analyze(page, EXAMPLES / "D_237.jpg")
    assert status.startswith("Done"), status


def test_missing_calibration_is_a_message(page):
    status = _analyze(page, EXAMPLES / "S_509.jpg", um_per_px="")
    assert status.startswith("Error") and "No calibration" in status


@needs_compare
def test_compare_two_photos(page, app_url):
    from gradio_client import Client, handle_file

    before, after = EXAMPLES / "synthetic_before.jpg", EXAMPLES / "synthetic_after.jpg"
    page.get_by_role("tab", name="Compare before / after").click()
    page.locator("#compare-before input[type=file]").set_input_files(str(before))
    page.locator("#compare-after input[type=file]").set_input_files(str(after))
    page.locator("#compare-before img").first.wait_for(timeout=30_000)
    page.locator("#compare-after img").first.wait_for(timeout=30_000)
    page.locator("#compare-um-per-px input").fill("6")
    page.locator("#compare-button").click()
    status = page.locator("#compare-status")
    status.get_by_text(re.compile("Done|Error")).wait_for(timeout=240_000)
    assert status.inner_text().startswith("Done"), status.inner_text()

    # The numbers in the page are those the API gives for the same pair.
    numbers, *_ = Client(app_url, verbose=False).predict(
        before=handle_file(str(before)), after=handle_file(str(after)), um_per_px=6.0, api_name="/compare"
    )
    sentence = page.locator("#compare-sentence").inner_text().strip()
    assert sentence == numbers["summary_sentence"]
    from densitometry.webui_handlers import empty_change_table

    labels = {*empty_change_table()["Metric"], "Field compared (cm²)"}
    table = _table_rows(page, "#compare-table", labels)
    if numbers["registered"]:  # the joint counts: hairs present at each visit in the common field
        present = [
            numbers["comparison"]["hairs_present_before"],
            numbers["comparison"]["hairs_present_after"],
        ]
        assert table["Hairs counted"][:2] == [str(n) for n in present]
        assert table["Matched hairs"] == [str(numbers["comparison"]["matched_hairs"])]
    else:
        assert table["Hairs counted"][:2] == [
            str(numbers["before"]["hair_count"]),
            str(numbers["after"]["hair_count"]),
        ]

    # The slider shows both images, and dragging it moves the divide.
    images = page.locator("#compare-slider img")
    images.first.wait_for(timeout=30_000)
    assert images.count() == 2
    assert all(images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0") for i in range(2))
    box = page.locator("#compare-slider").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    assert page.external_requests == []
