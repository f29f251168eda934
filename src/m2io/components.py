"""Build the answerers, inserters and language model that the CLI and the evaluation name.

The language model loads only when a component needs one, once per process.

>>> cfg = ComponentConfig()
>>> cfg.answerer, cfg.inserter, cfg.rule_threshold
('focused', 'r1', 0.6)
"""
from __future__ import annotations

from dataclasses import dataclass, field

from m2io.answer.section import ComposeConfig
from m2io.insert.onepass import OnePassConfig
from m2io.insert.r1_lm import R1Config
from m2io.insert.shipped import AUTO, resolve_adapter

INSERTERS = ("rule", "onepass", "r1", "r1-lm", "source")
ANSWERERS = ("focused", "section", "extractive", "llm")


@dataclass(frozen=True)
class ComponentConfig:
    answerer: str = "focused"
    """focused (the best section, its most relevant passage when long: the default), section (the best section
    verbatim), extractive (the question's most relevant retrieved sentences) or llm (bench/RESULTS.md)."""
    inserter: str = "r1"
    """rule, onepass, r1 (the placement policy, the default: best on the never-trained validation manuals)
    or r1-lm (an LM writes the plan); bench/RESULTS.md compares them."""
    lm_dir: str | None = None
    """A transformers model folder [SmolLM2-135M-Instruct converted from the PyPI GGUF]."""
    lm_url: str | None = None
    """An OpenAI-compatible endpoint (``http://host:port/v1``); replaces the local model."""
    lm_model: str = "SmolLM2-135M-Instruct"
    """The model name sent to ``lm_url``."""
    r1_policy: str | None = AUTO
    """The r1 placement policy (a ``policy.pt`` or a folder holding one, from ``m2io train r1``); ``auto``:
    the one shipped in ``models/inserter-r1``."""
    r1_adapter: str | None = AUTO
    """A LoRA adapter of the r1-lm policy (``m2io train sft|grpo``); r1-lm then gets its own copy of the model.
    ``auto``: the trained adapter shipped in ``models/inserter-r1-lm`` when the base is the bundled model;
    None: zero-shot."""
    rule_threshold: float = 0.6
    """Tuned on the GIMP train split (bench/RESULTS.md)."""
    reranker: str | None = AUTO
    """The section ranker: a learned ranker folder (``m2io train section-ranker``) or a cross-encoder reranker folder
    (``m2io train reranker``); ``auto``: ``models/section-ranker`` when it ships; None: sections in retrieval
    order."""
    compose: ComposeConfig = field(default_factory=ComposeConfig)
    r1: R1Config = field(default_factory=R1Config)
    onepass: OnePassConfig = field(default_factory=OnePassConfig)


class Components:
    """Lazily built shared parts: the text encoder and the language model."""

    def __init__(self, config: ComponentConfig = ComponentConfig(), text_encoder=None):
        if config.inserter not in INSERTERS:
            raise ValueError(f"unknown inserter {config.inserter!r} (choose from {', '.join(INSERTERS)})")
        if config.answerer not in ANSWERERS:
            raise ValueError(f"unknown answerer {config.answerer!r} (choose from {', '.join(ANSWERERS)})")
        self.config, self._encoder, self._lm, self._r1_lm = config, text_encoder, None, None
        self._reranker = self._ranker = None

    @property
    def encoder(self):
        if self._encoder is None:
            from m2io.encoders.text import TextEncoder

            self._encoder = TextEncoder()
        return self._encoder

    @property
    def lm(self):
        if self._lm is None:
            if self.config.lm_url:
                from m2io.lm.openai import OpenAIChatModel

                self._lm = OpenAIChatModel(self.config.lm_url, self.config.lm_model)
            else:
                from m2io.lm.local import LocalChatModel

                self._lm = LocalChatModel(self.config.lm_dir)
        return self._lm

    @property
    def r1_lm(self):
        """The r1-lm policy: the shared model, or the base with the r1-lm adapter merged in."""
        adapter = resolve_adapter(self.config.r1_adapter, self.config.lm_dir, self.config.lm_url)
        if not adapter:
            return self.lm
        if self._r1_lm is None:
            from m2io.lm.local import LocalChatModel

            self._r1_lm = LocalChatModel(self.config.lm_dir, adapter=adapter)
        return self._r1_lm

    def reranker(self):
        """The section ranker's scorer, or None (sections then stay in retrieval order)."""
        if self._reranker is None and self.config.reranker:
            from m2io.sections.scorer import load_scorer, shipped_ranker

            path = shipped_ranker() if self.config.reranker == AUTO else self.config.reranker
            if path is not None:
                self._reranker = load_scorer(path, self.encoder)
        return self._reranker

    def ranker(self, retriever):
        """The section ranker over ``retriever``'s sections (one per retriever: answerers of a question share it)."""
        from m2io.sections.rank import RankConfig, SectionRanker

        if self._ranker is None or self._ranker.reader is not retriever.sections:
            reranker = self.reranker()
            prior = reranker.prior if reranker is not None else RankConfig.prior
            self._ranker = SectionRanker(retriever.sections, reranker, RankConfig(prior=prior))
        return self._ranker

    def answerer(self, retriever=None, name: str | None = None):
        """The configured answerer (or ``name``); the section answerers (and the LLM's passages) need the
        ``retriever``."""
        name = name or self.config.answerer
        if name in ("focused", "section"):
            if retriever is None:
                raise ValueError(f"the {name} answerer reads sections: it needs the retriever")
            from m2io.answer.section import FocusedAnswerer, SectionAnswerer

            cls = FocusedAnswerer if name == "focused" else SectionAnswerer
            return cls(self.ranker(retriever), self.encoder, self.config.compose)
        if name == "llm":
            from m2io.answer.llm import LLMAnswerer

            return LLMAnswerer(self.lm, ranker=self.ranker(retriever) if retriever is not None else None)
        from m2io.answer.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(self.encoder)

    def inserter(self, name: str | None = None):
        from m2io.insert.rule import RuleInserter

        name = name or self.config.inserter
        rule = RuleInserter(self.encoder, self.config.rule_threshold)
        if name == "rule":
            return rule
        if name == "onepass":
            from m2io.insert.onepass import OnePassInserter

            return OnePassInserter(self.lm, self.config.onepass)
        if name == "r1":
            from m2io.insert.policy.inserter import R1Inserter, resolve_policy

            return R1Inserter.from_file(self.encoder, resolve_policy(self.config.r1_policy))
        if name == "source":
            from m2io.insert.source import SourceInserter

            return SourceInserter()
        if name == "r1-lm":
            from m2io.insert.r1_lm import R1LMInserter

            return R1LMInserter(self.r1_lm, rule, self.config.r1)
        raise ValueError(f"unknown inserter {name!r} (choose from {', '.join(INSERTERS)})")

    def close(self) -> None:
        if self._lm is not None:
            self._lm.close()
