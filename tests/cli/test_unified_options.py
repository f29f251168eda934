"""The unified answerer's config from CLI options: an unset option keeps the config's default."""
from m2io.cli.interleaved import unified_config
from m2io.unified.answer import UnifiedConfig


def test_unset_options_keep_the_defaults():
    config = unified_config(max_new_tokens=None, passage_words=None, windows=None, snap_threshold=0.5, seed=3)
    default = UnifiedConfig()
    assert (config.windows, config.passage_words, config.max_new_tokens) == (default.windows, None, None)
    assert (config.snap_threshold, config.seed) == (0.5, 3)
    assert unified_config(windows=2, passage_words=80).windows == 2
    assert unified_config(windows=2, passage_words=80).passage_words == 80


def test_windows_help_names_the_default():
    from click.testing import CliRunner

    from m2io.cli import cli

    for command in (["eval", "--help"], ["ask", "--help"]):
        text = " ".join(CliRunner().invoke(cli, command).output.split())
        assert f"answered one after another [{UnifiedConfig.windows}]" in text


def test_grpo_prompt_filters_are_the_trainers():
    """The CLI names its choices literally (importing the trainer would load torch at start-up): they must be the
    trainer's own list."""
    import click

    from m2io.cli import cli
    from m2io.unified.grpo import PROMPTS

    grpo = cli.commands["unified"].commands["grpo"]
    option = next(p for p in grpo.params if p.name == "prompts")
    assert isinstance(option.type, click.Choice) and tuple(option.type.choices) == PROMPTS
