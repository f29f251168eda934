"""Which reader `auto` picks for a folder, and the order of files it reads."""
from __future__ import annotations

from pathlib import Path

from m2io.corpus.manual.formats import detect_source, find_sources


def _touch(path: Path, text: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_auto_detects_each_kind_of_tree(tmp_path: Path):
    cases = {
        "mkdocs": (["mkdocs.yml", "docs/index.md", "site/index.html"], "markdown"),
        "docusaurus": (["docusaurus.config.js", "docs/intro.md", "build/index.html"], "markdown"),
        "sphinx": (["docs/conf.py", "docs/index.rst", "docs/_build/html/index.html"], "rst"),
        "sphinx_nested": (["README.md", "docs/source/conf.py", "docs/source/index.rst",
                           "docs/source/_templates/layout.html"], "rst"),
        "built": (["html/index.html", "html/_sources/index.rst.txt"], "html"),
        "docbook": (["C/index.docbook"], "docbook"),
        "md_only": (["guide/a.md", "guide/b.md"], "markdown"),
        "rst_only": (["guide/a.rst"], "rst"),
        "pdf_only": (["manual.pdf"], "pdf"),
    }
    for name, (files, expected) in cases.items():
        for f in files:
            _touch(tmp_path / name / f, '<book><title>T</title></book>' if f.endswith(".docbook") else "x")
        assert detect_source(tmp_path / name) == expected, name


def test_source_files_skip_build_output_and_other_languages(tmp_path: Path):
    for f in ["docs/index.md", "docs/guide.md", "docs/fr/guide.md", "node_modules/x/readme.md", ".github/issue.md"]:
        _touch(tmp_path / f, "# T\n")
    kind, paths, other = find_sources(tmp_path, "en", "markdown")
    assert kind == "markdown"
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["docs/index.md", "docs/guide.md"]
    assert other == 1
