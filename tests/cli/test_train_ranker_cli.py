"""``m2io train section-ranker`` end to end on the tiny corpus, then ``m2io ask`` with the ranker it wrote."""
import json

from click.testing import CliRunner

from m2io.cli import cli


def test_train_section_ranker_then_ask_with_it(tiny_index, tmp_path):
    corpus = f"{tiny_index / 'tiny'}={tiny_index / 'index'}"
    runner = CliRunner()
    trained = runner.invoke(cli, ["train", "section-ranker", corpus, "--val", corpus, "--out", str(tmp_path / "sr"),
                                  "--epochs", "40"])
    assert trained.exit_code == 0, trained.output
    assert "validation_retrieval_order: top-1" in trained.output and "validation: top-1 all" in trained.output
    record = json.loads((tmp_path / "sr" / "ranker.json").read_text())
    # trained on the train split (3 of the 4 questions), validated on every question
    assert record["queries"] == {"tiny/template": 3} and record["validation"]["n"] == 4
    asked = runner.invoke(cli, ["ask", "How do I export my image as a PNG file?", "--index", str(tiny_index / "index"),
                                "--reranker", str(tmp_path / "sr"), "--inserter", "source", "--format", "json"])
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.output[asked.output.index("{"):asked.output.rindex("}") + 1])
    assert answer["provenance"][0]["section"] == "tiny/export" and answer["answerer"] == "focused"
    bad = runner.invoke(cli, ["ask", "q", "--index", str(tiny_index / "index"), "--reranker", str(tmp_path)])
    assert bad.exit_code == 2 and "is not a section ranker folder" in bad.output
