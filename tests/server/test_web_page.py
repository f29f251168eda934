"""The web page in a real browser: Playwright drives Debian's Chromium against a real `m2io serve`."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import API_TOKEN

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


def test_page_shows_images_between_paragraphs(browser, m2io_server, tmp_path: Path):
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(m2io_server + "/")
    page.fill("#token", API_TOKEN)
    page.dispatch_event("#token", "change")
    page.fill("#question", "How do I export my image as a PNG file?")
    page.fill("#k", "2")
    page.select_option("#inserter", "rule")
    page.click("#submit")
    page.wait_for_selector("#details:not([hidden])", timeout=60_000)
    page.wait_for_function("[...document.querySelectorAll('#answer img')].length > 0 && "
                           "[...document.querySelectorAll('#answer img')].every(i => i.complete && i.naturalWidth > 0)",
                           timeout=30_000)
    shot = tmp_path / "answer.png"
    page.screenshot(path=str(shot), full_page=True)
    layout = page.evaluate("""() => [...document.querySelector('#answer').children].map(el => ({
        tag: el.tagName, width: el.querySelector('img') ? el.querySelector('img').naturalWidth : null,
        id: el.querySelector('img') ? el.querySelector('img').dataset.imageId : null}))""")
    tags = [x["tag"] for x in layout]
    between = [i for i, t in enumerate(tags) if t == "FIGURE" and "P" in tags[:i] and "P" in tags[i + 1:]]
    assert between, tags  # an image with answer text before and after it
    images = [x for x in layout if x["tag"] == "FIGURE"]
    assert {"E1", "E2"} <= {x["id"] for x in images} and all(x["width"] == 160 for x in images)
    first = page.locator("#sources li b").first
    assert first.inner_text() == "Tiny Paint Manual \u203a Basics \u203a Exporting"
    assert first.get_attribute("title") == "tiny/export"
    assert page.locator("#timings tr").count() == 5 and not errors  # retrieve, rank, answer, insert, total
    assert shot.stat().st_size > 10_000


def test_page_reports_a_wrong_token(browser, m2io_server):
    page = browser.new_page()
    page.goto(m2io_server + "/")
    page.fill("#token", "wrong")
    page.fill("#question", "anything")
    page.click("#submit")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('error 401')", timeout=30_000)
    assert page.locator("#answer *").count() == 0


def test_page_shows_a_unified_answer(browser, unified_server):
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(unified_server + "/")
    page.select_option("#generator", "unified")
    page.fill("#question", "How do I crop a photo?")
    page.click("#submit")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('unified model')",
                           timeout=120_000)
    status = page.locator("#status").inner_text()
    assert "tokens" in status and not errors
    # under the step grammar even the noise model writes whole steps: shown as text and images, no damage
    assert page.locator("#answer p").count() + page.locator("#answer img").count() >= 1
    assert "damaged" not in page.locator("#answer").inner_text()
    assert "writing the rest" not in page.locator("#answer").inner_text()  # the streamed windows' last render
    assert page.locator("#answer ol li").count() >= 1  # the sources of the draft it was written from
