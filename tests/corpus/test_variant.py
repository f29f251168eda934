from __future__ import annotations

from click.testing import CliRunner

from m2io.cli import cli
from m2io.corpus.mramg import Dataset, read_dataset
from m2io.corpus.variant import strip_headings
from m2io.types import DocSource, Document


def test_strip_headings_with_and_without_a_sidecar():
    docs = [Document("a", "Tools > Align\nThe Align tool lines up layers. <PIC>", ["i"]),
            Document("b", "Not the heading\nText.", []),
            Document("c", "A whole sentence that ends here.\nMore text.", []),
            Document("d", "<PIC> An image first\nText.", ["j"]),
            Document("e", "One line only", [])]
    with_sidecar = Dataset("x", docs, sources={"a": DocSource("M", "Align", ["Tools", "Align"]),
                                               "b": DocSource("M", "B", ["Other"])})
    out, n = strip_headings(with_sidecar)
    assert n == 1 and out.documents[0].content == "The Align tool lines up layers. <PIC>" and out.sources == {}
    assert [d.content for d in out.documents[1:]] == [d.content for d in docs[1:]]
    out, n = strip_headings(Dataset("x", docs))  # no sidecar: a short line that is not a sentence
    assert n == 2 and out.documents[1].content == "Text."


def test_cli_writes_the_variant(good_dataset, tmp_path):
    res = CliRunner().invoke(cli, ["corpus", "strip-headings", str(good_dataset), "--out", str(tmp_path / "v")])
    assert res.exit_code == 0 and "0 of 2 documents lost their heading line" in res.output
    assert len(read_dataset(tmp_path / "v").documents) == 2
