"""Screenshots of unified answers as the web page shows them: a real `m2io serve --unified-model`,
Debian's Chromium driven by Playwright, the generator menu set to "unified model".

    .venv/bin/python bench/unified_page.py --index index/kicad --unified-model runs/unified-warmup \
        --question "How do I add a symbol to a schematic?" --out bench/results/unified/page.png
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--unified-model", required=True)
    ap.add_argument("--question", action="append", required=True)
    ap.add_argument("--out", required=True, type=Path, help="PNG path; with several questions, -1, -2 ... are added")
    ap.add_argument("--snap-threshold", default="0.8")
    args = ap.parse_args()
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "m2io.cli", "serve", "--index", args.index, "--unified-model",
                             args.unified_model, "--snap-threshold", args.snap_threshold, "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=FLAGS)
            for n, question in enumerate(args.question, 1):
                page = browser.new_page(viewport={"width": 1000, "height": 1200})
                page.goto(base + "/")
                page.select_option("#generator", "unified")
                page.fill("#question", question)
                page.click("#submit")
                page.wait_for_function("document.querySelector('#status').textContent.startsWith('unified model')"
                                       " || document.querySelector('#status').textContent.startsWith('error')",
                                       timeout=300_000)
                out = args.out if len(args.question) == 1 else args.out.with_name(f"{args.out.stem}-{n}.png")
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), full_page=True)
                print(f"{out}: {page.locator('#status').inner_text()}")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
