from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from m2io.cli import cli
from m2io.train.curves import append_metrics, read_metrics


def test_metrics_log_survives_a_cut_line_and_plots(tmp_path: Path):
    log = tmp_path / "metrics.jsonl"
    for step in range(1, 6):
        append_metrics(log, {"step": step, "reward": step / 10, "rewards/format/mean": 1.0, "kl": 0.01 * step,
                             "completions/mean_length": 20 - step, "loss": 0.5 / step})
    append_metrics(log, {"step": 5, "dev/image_f1": 0.4})
    with open(log, "a") as f:
        f.write('{"step": 6, "rew')  # an interrupted write
    assert len(read_metrics(log)) == 6
    result = CliRunner().invoke(cli, ["train", "plot", str(log)])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "curves.png") as im:
        assert im.size[0] > 600 and im.size[1] > 1000


def test_two_logs_plot_side_by_side(tmp_path: Path):
    for name, slope in (("proc", 0.1), ("noproc", 0.05)):
        (tmp_path / name).mkdir()
        for step in (10, 20):
            append_metrics(tmp_path / name / "metrics.jsonl", {"step": step, "reward": slope * step,
                                                               "dev/image_f1": slope * step / 3})
    logs = [str(tmp_path / n / "metrics.jsonl") for n in ("proc", "noproc")]
    bad = CliRunner().invoke(cli, ["train", "plot", *logs, "--label", "only-one"])
    assert bad.exit_code != 0 and "1 labels for 2 logs" in bad.output
    result = CliRunner().invoke(cli, ["train", "plot", *logs, "--out", str(tmp_path / "ablation.png")])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "ablation.png") as im:
        assert im.size[0] > 600 and im.size[1] > 800
