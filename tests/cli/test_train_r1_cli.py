"""``m2io train r1 cold | grpo | export`` end to end on the tiny corpus, then ``m2io eval`` with the result."""
import json

from click.testing import CliRunner

from m2io.cli import cli


def test_train_r1_commands_then_eval_with_intervals(tiny_index, tmp_path):
    corpus = f"{tiny_index / 'tiny'}={tiny_index / 'index'}"
    data = [corpus, "--val", corpus, "--examples", str(tmp_path / "ex")]
    runner = CliRunner()
    cold = runner.invoke(cli, ["train", "r1", "cold", *data, "--out", str(tmp_path / "cold"), "--epochs", "3",
                               "--dim", "16"])
    assert cold.exit_code == 0, cold.output
    # 4 items as gold text (with and without provenance), and as the focused and the extractive answers' drafts
    # where those draw on the gold section
    n_val = int(cold.output.split("validation (n=")[1].split(")")[0])
    assert 12 <= n_val <= 16, cold.output
    grpo = runner.invoke(cli, ["train", "r1", "grpo", *data, "--init", str(tmp_path / "cold"), "--out",
                               str(tmp_path / "grpo"), "--steps", "2", "--group", "4", "--eval-every", "1"])
    assert grpo.exit_code == 0, grpo.output
    record = json.loads((tmp_path / "grpo" / "m2io-train.json").read_text())
    assert record["corpora"][0]["split"] == "train split" and record["corpora"][1]["split"] == "validation, every item"
    assert (tmp_path / "ex" / "train.pkl").is_file()
    export = runner.invoke(cli, ["train", "r1", "export", str(tmp_path / "grpo"), "--out", str(tmp_path / "ship")])
    assert export.exit_code == 0 and (tmp_path / "ship" / "policy.pt").is_file(), export.output

    result = runner.invoke(cli, ["eval", str(tiny_index / "tiny"), "--task", "insert", "--index",
                                 str(tiny_index / "index"), "--inserter", "r1", "--r1-policy", str(tmp_path / "ship"),
                                 "--split", "all", "--no-bertscore", "--json", str(tmp_path / "r1.json")])
    assert result.exit_code == 0, result.output
    assert "95% CI" in result.output
    scores = json.loads((tmp_path / "r1.json").read_text())["scores"]
    assert scores["n"] == 4 and scores["tokens_generated_mean"] == 0 and scores["model_calls_mean"] == 1
    assert len(scores["image_f1_ci95"]) == 2


def test_bad_corpus_and_policy_arguments_are_named(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(cli, ["train", "r1", "cold", f"{tmp_path}=nowhere"])
    assert bad.exit_code == 2 and "nowhere is not an index folder" in bad.output
    missing = runner.invoke(cli, ["ask", "q", "--index", str(tmp_path), "--inserter", "r1", "--r1-policy",
                                  str(tmp_path / "none.pt")])
    assert missing.exit_code == 2 and "r1 policy not found" in missing.output
