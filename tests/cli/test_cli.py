from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from conftest import make_png
from m2io.cli import cli


def _manual(root: Path) -> Path:
    make_png(root / "shot.png", (320, 200))
    make_png(root / "crop.png", (320, 200), "blue")
    (root / "index.html").write_text(
        '<html><head><link rel="home" title="Tool Guide"/></head><body>'
        '<h1 id="start">Getting started</h1><p>Open the program from the applications menu to begin.</p>'
        '<figure><img src="shot.png"/><figcaption>The main window</figcaption></figure>'
        '<p>Then crop the picture with the crop tool in the toolbar.</p><p><img src="crop.png" alt="Cropping"/></p>'
        '</body></html>')
    return root


def test_manual_then_check(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(cli, ["corpus", "manual", "--html-dir", str(_manual(tmp_path / "m")), "--name", "guide",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "documents 1, images 2, QA 1" in result.output
    result = runner.invoke(cli, ["corpus", "check", str(tmp_path / "out"), "--samples", "1",
                                 "--json", str(tmp_path / "stats.json")])
    assert result.exit_code == 0, result.output
    assert "multi-image QA       1" in result.output and "OK" in result.output
    assert "<PIC> shot.png: 'The main window'" in result.output
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["ok"] and stats["stats"][0]["images"] == 2


def test_check_fails_with_located_errors(good_dataset: Path):
    (good_dataset / "images" / "DEMO" / "1.png").unlink()
    result = CliRunner().invoke(cli, ["corpus", "check", str(good_dataset)])
    assert result.exit_code == 1
    assert "images missing on disk  1" in result.output
    assert "demo_imgs_collection.json: 1: image file not found: images/DEMO/1.png" in result.output


def test_manual_needs_exactly_one_source(tmp_path: Path):
    result = CliRunner().invoke(cli, ["corpus", "manual", "--name", "x", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "exactly one of --package, --html-dir and --pdf" in result.output


def test_console_script_reports_errors_without_traceback(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    proc = subprocess.run([sys.executable, "-m", "m2io.cli", "corpus", "manual", "--html-dir", str(tmp_path / "empty"),
                           "--name", "x", "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: {tmp_path / 'empty'}: no HTML pages, DocBook books, PDF, Markdown or reST files in language 'en' here"
    assert not (tmp_path / "o").exists()


def test_index_search_eval_and_adapter_commands(tmp_path: Path):
    from conftest import write_tiny_corpus

    corpus = write_tiny_corpus(tmp_path / "tiny")
    runner = CliRunner()
    index = tmp_path / "index"
    result = runner.invoke(cli, ["index", str(corpus), "--out", str(index)])
    assert result.exit_code == 0, result.output
    assert "documents 4: indexed 4, unchanged 0" in result.output and "chunks 4, image occurrences 5" in result.output
    result = runner.invoke(cli, ["search", "reorder layers", "--index", str(index), "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits[0]["doc_id"] == "tiny/layers" and hits[0]["images"][0]["image_id"] == "L"
    result = runner.invoke(cli, ["eval", str(corpus), "--task", "retrieval", "--index", str(index),
                                 "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "r.json").read_text())["scores"]
    assert scores["text"]["doc_recall@10"] == 1.0 and scores["image"]["doc_at_1"] == 1.0
    assert len((tmp_path / "r.items.jsonl").read_text().splitlines()) == 8
    # Too few captioned images to train an adapter: a clear error, nothing written.
    proc = subprocess.run([sys.executable, "-m", "m2io.cli", "train", "image-adapter", str(corpus), "--index",
                           str(index)], capture_output=True, text=True)
    assert proc.returncode == 1 and "need at least 10 captioned images" in proc.stderr
    assert not (index / "image_adapter.npz").exists()


def test_search_errors_are_clear(tmp_path: Path):
    proc = subprocess.run([sys.executable, "-m", "m2io.cli", "search", "x", "--index", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.strip() == f"error: {tmp_path}: not an m2io index (no m2io-index.json)"


def test_ask_writes_an_html_answer_and_eval_insert(tiny_index: Path, tmp_path: Path):
    runner = CliRunner()
    page = tmp_path / "answer.html"
    result = runner.invoke(cli, ["ask", "How do I export my image as a PNG file?", "--index", str(tiny_index / "index"),
                                 "--inserter", "rule", "--rule-threshold", "0.3", "-k", "2", "--format", "html",
                                 "--out", str(page)])
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert html.count("data:image/png;base64,") >= 2 and "tiny/export" in html
    result = runner.invoke(cli, ["ask", "--index", str(tiny_index / "index")])
    assert result.exit_code != 0 and "give a question, an --image, or both" in result.output
    out = tmp_path / "ins.json"
    result = runner.invoke(cli, ["eval", str(tiny_index / "tiny"), "--task", "insert", "--index",
                                 str(tiny_index / "index"), "--inserter", "rule", "--split", "all", "--no-bertscore",
                                 "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "rule" in result.output and "F1" in result.output and "stage p50 ms: insert" in result.output
    assert json.loads(out.read_text())["scores"]["n"] == 4 and out.with_name("ins.items.jsonl").is_file()
