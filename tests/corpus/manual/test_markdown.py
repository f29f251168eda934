"""Markdown docs trees: MkDocs nav and Docusaurus sidebars order, front matter, admonitions, MDX, images."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_png
from m2io.corpus.manual.markdown import parse_markdown
from m2io.corpus.manual.markdown_nav import find_markdown_pages, markdown_site, sidebar_refs
from m2io.corpus.manual.page import FigureBlock, TextBlock
from m2io.errors import DatasetError

MKDOCS_YML = """site_name: Paint Manual
docs_dir: documentation
theme:
  name: material
  language: de
markdown_extensions:
  - pymdownx.emoji:
      emoji_index: !!python/name:material.extensions.emoji.twemoji
extra:
  token: !ENV [TOKEN, "none"]
nav:
  - Home: index.md
  - Guide:
      - Layers: guide/layers.md
      - guide/tabs.md
      - More:
          - Brushes: guide/brushes.md
  - Blog: https://example.org/blog
"""

LAYERS = """---
title: Working with layers
lang: en
---
Layers are sheets of pixels stacked on top of each other.

## The Layers dialog {#dialog}

Open it from the Windows menu.

![Layers dialog](img/layers.png "The Layers dialog, docked")

!!! note "Locking"
    A locked layer cannot be painted on.

    ![Lock icon](/assets/lock.png)

??? tip
    Collapsed text.

<figure>
  <img src="img/blend.png" alt="blend">
  <figcaption>Blend modes menu</figcaption>
</figure>

### Missing picture

![](img/missing.png)
"""

TABS = """# Installing

=== "Windows"

    Run the installer and follow the steps.

    ![Installer](img/setup.png)

=== "Linux"

    Use your package manager.

```text
=== "not a tab"
    stays code
```
"""


@pytest.fixture
def mkdocs_site(tmp_path: Path) -> Path:
    docs = tmp_path / "documentation"
    for name in ("guide/img/layers.png", "guide/img/blend.png", "guide/img/setup.png", "assets/lock.png"):
        make_png(docs / name)
    (tmp_path / "mkdocs.yml").write_text(MKDOCS_YML)
    (docs / "guide" / "layers.md").write_text(LAYERS)
    (docs / "guide" / "tabs.md").write_text(TABS)
    (docs / "guide" / "brushes.md").write_text("# Brushes\n\nA brush paints.\n")
    (docs / "index.md").write_text("# Welcome\n\nThe paint manual.\n")
    (docs / "CHANGELOG.md").write_text("# Changes\n")
    (docs / "LICENSE.md").write_text("MIT\n")
    (docs / "about.md").write_text("About this manual.\n")
    for skipped in ("node_modules/pkg/readme.md", ".hidden/x.md", "site/index.md", "build/x.md"):
        (docs / skipped).parent.mkdir(parents=True, exist_ok=True)
        (docs / skipped).write_text("# Skip me\n")
    (tmp_path / "README.md").write_text("# Repo readme, outside docs_dir\n")
    return tmp_path


def _rel(pages: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in pages]


def test_mkdocs_nav_order_then_the_rest_sorted(mkdocs_site: Path):
    pages = find_markdown_pages(mkdocs_site)
    assert _rel(pages, mkdocs_site / "documentation") == [
        "index.md", "guide/layers.md", "guide/tabs.md", "guide/brushes.md", "CHANGELOG.md", "about.md"]
    site = markdown_site(mkdocs_site)
    assert (site.kind, site.name, site.lang, site.docs) == ("mkdocs", "Paint Manual", "de",
                                                           mkdocs_site / "documentation")


def test_docs_folder_given_finds_its_site(mkdocs_site: Path):
    assert markdown_site(mkdocs_site / "documentation").name == "Paint Manual"
    assert find_markdown_pages(mkdocs_site / "documentation")[0].name == "index.md"


def test_front_matter_sections_and_figures(mkdocs_site: Path):
    path = mkdocs_site / "documentation" / "guide" / "layers.md"
    page = parse_markdown(path, mkdocs_site)
    assert (page.title, page.book, page.home, page.lang, page.path) == (
        "Working with layers", "Paint Manual", "Paint Manual", "en", path)
    assert [(s.title, s.level, s.parents, s.anchor) for s in page.sections] == [
        ("Working with layers", 1, [], ""),
        ("The Layers dialog", 2, ["Working with layers"], "dialog"),
        ("Missing picture", 3, ["Working with layers", "The Layers dialog"], "missing-picture")]
    intro, dialog, missing = page.sections
    assert intro.blocks == [TextBlock("Layers are sheets of pixels stacked on top of each other.")]
    img = (mkdocs_site / "documentation" / "guide" / "img").resolve()
    assert dialog.blocks[0] == TextBlock("Open it from the Windows menu.")
    assert dialog.blocks[1] == FigureBlock(img / "layers.png", "Layers dialog", "alt", "Layers dialog")
    # The admonition keeps its title and text, and its figure (an absolute path: the docs folder).
    assert dialog.blocks[2:5] == [TextBlock("Locking"), TextBlock("A locked layer cannot be painted on."),
                                  FigureBlock((mkdocs_site / "documentation/assets/lock.png").resolve(),
                                              "Lock icon", "alt", "Lock icon")]
    assert TextBlock("Collapsed text.") in dialog.blocks
    blend = dialog.figures[-1]
    assert (blend.src, blend.caption, blend.caption_source) == (img / "blend.png", "Blend modes menu", "title")
    assert len(missing.figures) == 1 and missing.figures[0].src == img / "missing.png"
    assert not missing.figures[0].src.exists()


def test_image_title_attribute_is_a_caption(tmp_path: Path):
    make_png(tmp_path / "shot.png")
    (tmp_path / "page.md").write_text('# Shot\n\nSome words here.\n\n![](shot.png "The export dialog")\n')
    fig = parse_markdown(tmp_path / "page.md", tmp_path).sections[0].figures[0]
    assert (fig.src, fig.caption, fig.caption_source) == ((tmp_path / "shot.png").resolve(), "The export dialog",
                                                          "title_attr")


def test_content_tabs_are_not_code_blocks(mkdocs_site: Path):
    page = parse_markdown(mkdocs_site / "documentation" / "guide" / "tabs.md", mkdocs_site)
    (section,) = page.sections
    texts = [b.text for b in section.blocks if isinstance(b, TextBlock)]
    assert texts[:2] == ["Windows", "Run the installer and follow the steps."]
    assert section.figures[0].src.name == "setup.png" and section.figures[0].caption == "Installer"
    assert "Use your package manager." in texts
    assert texts[-1] == '=== "not a tab" stays code'  # fenced code is left alone


def test_page_without_heading_gets_title_or_stem(tmp_path: Path):
    (tmp_path / "notes.md").write_text("Just a paragraph of notes.\n")
    (tmp_path / "titled.md").write_text("---\ntitle: Shortcuts\n---\nPress keys.\n")
    notes = parse_markdown(tmp_path / "notes.md", tmp_path)
    assert [(s.title, s.level, s.blocks) for s in notes.sections] == [
        ("notes", 1, [TextBlock("Just a paragraph of notes.")])]
    titled = parse_markdown(tmp_path / "titled.md", tmp_path)
    assert titled.title == "Shortcuts"
    assert [(s.title, s.level, s.blocks) for s in titled.sections] == [("Shortcuts", 1, [TextBlock("Press keys.")])]
    assert (titled.book, titled.home) == ("Shortcuts", "")  # no site name: the page's own h1


def test_empty_file_has_no_sections(tmp_path: Path):
    (tmp_path / "empty.md").write_text("")
    (tmp_path / "front.md").write_text("---\ntitle: Only front matter\n---\n")
    assert parse_markdown(tmp_path / "empty.md", tmp_path).sections == []
    front = parse_markdown(tmp_path / "front.md", tmp_path)
    assert [s.title for s in front.sections] == ["Only front matter"] and front.sections[0].blocks == []


def test_not_utf8_is_a_dataset_error_naming_the_file(tmp_path: Path):
    bad = tmp_path / "latin1.md"
    bad.write_bytes("# Caf\u00e9\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"latin1\.md: not UTF-8") as err:
        parse_markdown(bad, tmp_path)
    assert err.value.path == str(bad)


SIDEBARS_JS = """// The docs sidebar
/** @type {import('@docusaurus/plugin-content-docs').SidebarsConfig} */
const sidebars = {
  docs: [
    'intro',
    {type: 'category', label: 'Guides', items: [
      {type: 'doc', id: 'guides/start'},
      {type: 'autogenerated', dirName: 'guides/advanced'},
    ]},
    {type: 'link', label: 'GitHub', href: 'https://github.com/x/y'},
    "reference/api",
  ],
};
module.exports = sidebars;
"""

MDX = """---
title: Getting started
sidebar_position: 2
---
import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';

export const Highlight = ({children}) => (
  <span>{children}</span>
);

{/* a JSX comment */}

Install the app first.

:::note[Before you start]
You need an account.
:::

:::tip
Use the keyboard.
:::

<img src={require('./img/start.png').default} alt="Start screen" />

![Logo](/img/logo.png)

<Tabs>
<TabItem value="mac" label="macOS">

Drag the app to Applications.

</TabItem>
</Tabs>
"""


@pytest.fixture
def docusaurus_site(tmp_path: Path) -> Path:
    (tmp_path / "docusaurus.config.js").write_text(
        "module.exports = {\n  title: 'Sketch Docs',\n  tagline: 'Draw',\n"
        "  i18n: {defaultLocale: 'fr', locales: ['fr']},\n  presets: [['classic', {docs: {sidebarPath: "
        "require.resolve('./sidebars.js')}}]],\n};\n")
    (tmp_path / "sidebars.js").write_text(SIDEBARS_JS)
    docs = tmp_path / "docs"
    make_png(docs / "guides" / "img" / "start.png")
    make_png(tmp_path / "static" / "img" / "logo.png")
    (docs / "guides").mkdir(parents=True, exist_ok=True)
    (docs / "01-intro.md").write_text("# Intro\n\nWelcome.\n")
    (docs / "guides" / "start.mdx").write_text(MDX)
    (docs / "guides" / "_shared.mdx").write_text("A partial.\n")
    adv = docs / "guides" / "advanced"
    adv.mkdir()
    (adv / "zeta.md").write_text("---\nsidebar_position: 1\n---\n# Zeta\n")
    (adv / "alpha.md").write_text("# Alpha\n")
    (adv / "deep").mkdir()
    (adv / "deep" / "_category_.json").write_text('{"label": "Deep", "position": 0}')
    (adv / "deep" / "one.md").write_text("# One\n")
    (docs / "reference").mkdir()
    (docs / "reference" / "api-page.md").write_text("---\nid: api\n---\n# API\n")
    (docs / "reference" / "cli.md").write_text("# CLI\n")
    return tmp_path


def test_docusaurus_sidebar_order(docusaurus_site: Path):
    pages = find_markdown_pages(docusaurus_site)
    assert _rel(pages, docusaurus_site / "docs") == [
        "01-intro.md", "guides/start.mdx", "guides/advanced/deep/one.md", "guides/advanced/zeta.md",
        "guides/advanced/alpha.md", "reference/api-page.md", "reference/cli.md"]


def test_docusaurus_without_sidebar_is_autogenerated(docusaurus_site: Path):
    (docusaurus_site / "sidebars.js").unlink()
    (docusaurus_site / "docs" / "guides" / "_category_.json").write_text('{"position": 1}')
    pages = find_markdown_pages(docusaurus_site)
    assert _rel(pages, docusaurus_site / "docs")[:2] == ["guides/start.mdx", "guides/advanced/deep/one.md"]


def test_sidebar_json_keys_are_not_ids():
    text = '{"docs": ["a", {"type": "doc", "id": "b", "label": "c"}, {"type": "autogenerated", "dirName": "d"}]}'
    assert sidebar_refs(text) == [("doc", "a"), ("doc", "b"), ("dir", "d")]


def test_mdx_page(docusaurus_site: Path):
    path = docusaurus_site / "docs" / "guides" / "start.mdx"
    page = parse_markdown(path, docusaurus_site)
    assert (page.title, page.book, page.lang) == ("Getting started", "Sketch Docs", "fr")
    (section,) = page.sections
    assert (section.title, section.level) == ("Getting started", 1)
    texts = [b.text for b in section.blocks if isinstance(b, TextBlock)]
    assert texts == ["Install the app first.", "Before you start", "You need an account.", "Tip",
                     "Use the keyboard.", "Drag the app to Applications."]
    assert not any("import" in t or ":::" in t or "/*" in t for t in texts)
    start, logo = section.figures
    assert (start.src, start.caption) == ((docusaurus_site / "docs/guides/img/start.png").resolve(), "Start screen")
    assert logo.src == (docusaurus_site / "static/img/logo.png").resolve() and logo.src.exists()


def test_plain_folder_walk_puts_index_first(tmp_path: Path):
    for name in ("zoo.md", "b/README.md", "b/a.markdown", "index.md", "a/z.md", "a/index.md", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("# x\n")
    assert _rel(find_markdown_pages(tmp_path), tmp_path) == [
        "index.md", "zoo.md", "a/index.md", "a/z.md", "b/README.md", "b/a.markdown"]


def test_mdx_keeps_prose_that_starts_with_import(docusaurus_site: Path):
    path = docusaurus_site / "docs" / "reference" / "cli.md"
    path.write_text("# CLI\n\nimport the data from a CSV file first.\n\nexport your drawing as PNG.\n")
    texts = [b.text for b in parse_markdown(path, docusaurus_site).sections[0].blocks]
    assert texts == ["import the data from a CSV file first.", "export your drawing as PNG."]
