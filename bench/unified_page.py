"""Screenshots of unified answers as the web page shows them: a real `m2io serve --unified-model`,
Debian's Chromium driven by Playwright, the generator menu set to "unified model". With several
``--unified-model`` the same questions are answered by each, and each question gets one PNG with the
answers side by side (warm-up against GRPO).

    .venv/bin/python bench/unified_page.py --index index/kicad --unified-model runs/unified-warmup \
        --question "How do I add a symbol to a schematic?" --out bench/results/unified/page.png
    .venv/bin/python bench/unified_page.py --index index/kicad --unified-model runs/unified-warmup \
        --unified-model runs/unified-grpo --label warm-up --label GRPO --question "..." --out page.png
    .venv/bin/python bench/unified_page.py --index index/wireshark --unified-model models/unified --first-window \
        --question "..." --out page.png     # and page-first-window.png: the page once the first window streamed
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


def shoot(index: str, model: str, questions: list[str], outs: list[Path], snap_threshold: str,
          first_window: bool = False) -> None:
    """Serve ``model`` over ``index`` and screenshot the page's answer to each question into its ``outs`` path;
    with ``first_window``, also the page as the first streamed window shows (``*-first-window.png``)."""
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "m2io.cli", "serve", "--index", index, "--unified-model",
                             model, "--snap-threshold", snap_threshold, "--port", str(port)])
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
            for question, out in zip(questions, outs):
                page = browser.new_page(viewport={"width": 1000, "height": 1200})
                page.goto(base + "/")
                page.select_option("#generator", "unified")
                page.fill("#question", question)
                page.click("#submit")
                if first_window:
                    try:
                        page.wait_for_function("document.querySelector('#status').textContent.startsWith('writing')",
                                               timeout=300_000)
                        partial = out.with_name(out.stem + "-first-window.png")
                        page.screenshot(path=str(partial), full_page=True)
                        print(f"{partial}: {page.locator('#status').inner_text()}")
                    except Exception:  # noqa: BLE001 - an answer of one window streams no partial page
                        print(f"{out}: no partial answer (one window)")
                page.wait_for_function("document.querySelector('#status').textContent.startsWith('unified model')"
                                       " || document.querySelector('#status').textContent.startsWith('error')",
                                       timeout=300_000)
                try:  # figures are fetched after the answer shows (with the token): wait until each has loaded
                    page.wait_for_function("[...document.querySelectorAll('#answer img')].every("
                                           "i => i.complete && i.naturalWidth > 0)", timeout=20_000)
                except Exception:  # noqa: BLE001 - a figure that never loads is what the screenshot must show
                    print(f"{out}: not every figure loaded within 20 s")
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), full_page=True)
                print(f"{out}: {page.locator('#status').inner_text()}")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def side_by_side(paths: list[Path], labels: list[str], out: Path) -> None:
    """One PNG with the screenshots next to each other, each under its label."""
    from PIL import Image, ImageDraw

    shots = [Image.open(p).convert("RGB") for p in paths]
    band = 40
    canvas = Image.new("RGB", (sum(s.width for s in shots), band + max(s.height for s in shots)), "white")
    draw, x = ImageDraw.Draw(canvas), 0
    for shot, label in zip(shots, labels):
        canvas.paste(shot, (x, band))
        draw.text((x + 12, 12), label, fill="black", font_size=22)
        x += shot.width
    canvas.save(out)
    print(f"{out}: {' | '.join(labels)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--unified-model", action="append", required=True,
                    help="A unified model folder; several: the same questions by each, and side-by-side PNGs")
    ap.add_argument("--label", action="append", default=None, help="A name per --unified-model (side-by-side)")
    ap.add_argument("--question", action="append", required=True)
    ap.add_argument("--out", required=True, type=Path,
                    help="PNG path; with several questions -1, -2 ... are added, with several models -m1, -m2 ...")
    ap.add_argument("--snap-threshold", default="0.8")
    ap.add_argument("--first-window", action="store_true",
                    help="also screenshot the page as the first streamed window shows (*-first-window.png)")
    args = ap.parse_args()
    models, questions = args.unified_model, args.question
    labels = args.label or [Path(m).name for m in models]
    if len(labels) != len(models):
        ap.error("give one --label per --unified-model")

    def path(m: int, q: int) -> Path:
        stem = args.out.stem + (f"-{q + 1}" if len(questions) > 1 else "") + (f"-m{m + 1}" if len(models) > 1 else "")
        return args.out.with_name(stem + ".png")

    for m, model in enumerate(models):
        shoot(args.index, model, questions, [path(m, q) for q in range(len(questions))], args.snap_threshold,
              args.first_window)
    if len(models) > 1:
        for q in range(len(questions)):
            stem = args.out.stem + (f"-{q + 1}" if len(questions) > 1 else "")
            side_by_side([path(m, q) for m in range(len(models))], labels, args.out.with_name(stem + "-compare.png"))


if __name__ == "__main__":
    main()
