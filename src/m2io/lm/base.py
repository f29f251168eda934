"""The chat interface every LM backend implements: messages in, text out, tokens and time counted.

>>> g = Generation(text="hi", prompt_tokens=5, completion_tokens=1, seconds=0.1)
>>> g.tokens_per_second
10.0
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from m2io.errors import M2IOError

Message = dict[str, str]
"""``{"role": "system" | "user" | "assistant", "content": "..."}``"""


class LMError(M2IOError):
    """A language model could not be loaded or did not answer."""


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


def cut_at_stop(text: str, stop: list[str] | None) -> str:
    """The text up to the first stop string (the stop string itself removed).

    >>> cut_at_stop("a plan</plan> and more", ["</plan>"])
    'a plan'
    """
    if not stop:
        return text
    ends = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return text[: min(ends)] if ends else text


class ChatModel(ABC):
    """A chat model; ``temperature=0`` is greedy decoding."""

    name: str
    supports_constraints: bool = False
    """Whether ``chat`` takes a ``constraint`` (see :mod:`m2io.lm.constrain`)."""

    @abstractmethod
    def chat(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
             stop: list[str] | None = None, constraint=None, free_tokens: int = 0,
             no_repeat_ngram: int = 0) -> Generation:
        """Answer the conversation ``messages``.

        ``constraint`` (backends with ``supports_constraints``): a
        :class:`m2io.lm.constrain.TextConstraint` the output must satisfy; ``free_tokens``
        bounds its free reasoning span. ``no_repeat_ngram`` (local backends; 0: off): no n-gram of this many
        tokens twice, which keeps a small model from looping on one sentence; HTTP backends ignore it.
        """

    def close(self) -> None:
        """Release connections or memory."""
