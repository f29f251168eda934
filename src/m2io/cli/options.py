"""Options shared by ``ask``, ``eval`` and ``serve``: which inserter, answerer and language model."""
from __future__ import annotations

from pathlib import Path

import click

from m2io.insert.shipped import AUTO


def _components(inserter: str, answerer: str, lm: Path | None, lm_url: str | None, lm_model: str,
                rule_threshold: float | None, think_tokens: int | None, unconstrained: bool,
                r1_adapter: str | None = AUTO, r1_policy: str | None = AUTO, reranker: str | None = AUTO,
                max_words: int | None = None, text_encoder=None):
    """The components these options name; ``text_encoder``: the index's (one encoder, and one cache, per process)."""
    from m2io.components import ComponentConfig, Components
    from m2io.insert.r1_lm import R1Config

    from dataclasses import replace

    base = ComponentConfig()
    r1 = R1Config(think_tokens=base.r1.think_tokens if think_tokens is None else think_tokens,
                  constrained=not unconstrained)
    compose = base.compose if max_words is None else replace(base.compose, max_words=max_words)
    return Components(ComponentConfig(answerer=answerer, inserter=inserter, lm_dir=str(lm) if lm else None,
                                      lm_url=lm_url, lm_model=lm_model, r1=r1,
                                      r1_adapter=r1_adapter, r1_policy=r1_policy, reranker=reranker, compose=compose,
                                      rule_threshold=base.rule_threshold if rule_threshold is None else rule_threshold),
                      text_encoder)


def _model_folder(what: str, marker: str):
    """A click callback for ``auto``, ``none`` (-> None) or a folder holding ``marker``."""
    def check(ctx, param, value: str) -> str | None:
        if value == "none":
            return None
        if value != AUTO and not (Path(value) / marker).is_file():
            raise click.BadParameter(f"{value} is not {what} folder (no {marker})", ctx, param)
        return value
    return check


def _reranker(ctx, param, value: str) -> str | None:
    """``auto``, ``none`` or a section ranker folder of either kind (learned: ranker.pt; cross-encoder)."""
    if value not in (AUTO, "none") and (Path(value) / "ranker.pt").is_file():
        return value
    return _model_folder("a section ranker", "reranker.json")(ctx, param, value)
_r1_adapter = _model_folder("an adapter", "adapter_config.json")


_r1_adapter_option = click.option(
    "--r1-adapter", default=AUTO, show_default=True, callback=_r1_adapter,
    help="r1-lm: a LoRA adapter folder from m2io train sft|grpo; auto: the trained one in models/inserter-r1-lm "
         "(bundled base model only); none: zero-shot.")


def _r1_policy(ctx, param, value: str) -> str:
    from m2io.insert.policy.inserter import resolve_policy

    if value != AUTO:
        try:
            resolve_policy(value)
        except FileNotFoundError as e:
            raise click.BadParameter(str(e), ctx, param) from e
    return value


_r1_policy_option = click.option(
    "--r1-policy", default=AUTO, show_default=True, callback=_r1_policy,
    help="r1: a policy.pt (or a run folder holding one) from m2io train r1; auto: the one in models/inserter-r1.")


def _model_options(f):
    """Options shared by ask and eval: which inserter, answerer and language model."""
    from m2io.components import ANSWERERS, INSERTERS, ComponentConfig

    for option in reversed([
        click.option("--inserter", type=click.Choice(INSERTERS), default=ComponentConfig.inserter, show_default=True,
                     help="r1: the trained placement policy; r1-lm: an LM writes the plan (bench/RESULTS.md)."),
        click.option("--answerer", type=click.Choice(ANSWERERS), default=ComponentConfig.answerer, show_default=True,
                     help="focused: the best section (its most relevant passage when long); section: the best "
                          "section verbatim; extractive: the question's best retrieved sentences; llm."),
        click.option("--reranker", default=AUTO, show_default=True, callback=_reranker,
                     help="Section ranker folder (m2io train section-ranker, or a cross-encoder from m2io train "
                          "reranker); auto: models/section-ranker; none: sections in retrieval order."),
        click.option("--max-words", type=int, default=None,
                     help="focused: a best section longer than this is cut to its most relevant passage [600]."),
        click.option("--candidates", type=click.Choice(["answer", "retrieved"]), default="answer", show_default=True,
                     help="answer: the answer's sections' figures first, then retrieved others; retrieved: the "
                          "retrieved chunks' images in rank order (the pipeline before sections)."),
        click.option("--lm", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
                     help="A transformers model folder [SmolLM2-135M-Instruct from the PyPI GGUF]."),
        click.option("--lm-url", default=None, help="An OpenAI-compatible endpoint (http://host:port/v1) instead."),
        click.option("--lm-model", default="SmolLM2-135M-Instruct", show_default=True,
                     help="Model name sent to --lm-url."),
        click.option("--rule-threshold", type=float, default=None, help="Similarity threshold of the rule inserter."),
        click.option("--think-tokens", type=int, default=None, help="r1-lm: token budget of its reasoning span."),
        click.option("--unconstrained", is_flag=True, help="r1-lm: decode freely (parse, fall back to rule)."),
        _r1_policy_option,
        _r1_adapter_option,
        click.option("-k", default=10, show_default=True, help="Chunks retrieved per question."),
        click.option("--pg-dsn", default="", help="PostgreSQL connection string for a pgvector index."),
    ]):
        f = option(f)
    return f
