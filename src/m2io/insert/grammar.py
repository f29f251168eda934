"""Which texts can still become a valid inserter output: the grammar behind constrained decoding.

The ``r1`` inserter writes ``<think>`` a short reasoning ``</think>`` then ``<plan>`` items
``</plan>``, where an item is ``<imgK>@S`` (K an unused candidate number, S a slot in
``0..n_segments``), items separated by one or two spaces, commas or semicolons. With
``think=False`` the output is the plan alone. :meth:`PlanGrammar.viable` answers "can this
prefix still be completed into a valid output?"; a logits processor keeps only the tokens
that answer yes, so the model cannot write an unknown image, a slot out of range, an image
twice, or anything that does not parse. Hand-written because the language is per task (the
number of candidates and segments) and "no image twice" is not a regular constraint that a
regex-guided decoder could take.

>>> g = PlanGrammar(n_candidates=3, n_segments=4, think=False)
>>> g.viable("<plan><img2>@3 <img1"), g.viable("<plan><img4"), g.viable("<plan><img2>@5")
(True, False, False)
>>> g.viable("<plan><img2>@3 <img2>"), g.complete("<plan><img2>@3</plan>")
(False, True)
>>> g.plan_text("<plan><img2>@3</plan>")
'<img2>@3'
"""
from __future__ import annotations

from dataclasses import dataclass

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
PLAN_OPEN, PLAN_CLOSE = "<plan>", "</plan>"
_SEPARATORS = " ,;"


def _number_viable(digits: str, allowed: set[int], final: bool) -> bool:
    """Can ``digits`` be (``final``: is it) one of ``allowed``, written without leading zeros?"""
    if not digits:
        return not final and bool(allowed)
    if len(digits) > 1 and digits[0] == "0":
        return False
    if final:
        return int(digits) in allowed
    return any(str(a).startswith(digits) for a in allowed)


@dataclass(frozen=True)
class PlanGrammar:
    n_candidates: int
    n_segments: int
    think: bool = True
    """Whether a ``<think>...</think>`` span comes before the plan."""

    alphabet = "<>/@,; \n0123456789imgplanthk"
    """Every character the grammar can produce outside the free reasoning span."""
    close_tag = THINK_CLOSE

    def _body_viable(self, body: str) -> tuple[bool, bool]:
        """(viable, complete) for the text after ``<plan>``."""
        used: set[int] = set()
        slots = set(range(self.n_segments + 1))
        pos, n = 0, len(body)
        while True:
            start = pos
            while pos < n and body[pos] in _SEPARATORS:
                pos += 1
            if pos - start > 2:
                return False, False
            free = set(range(1, self.n_candidates + 1)) - used
            if pos == n:
                return True, False
            if body.startswith(PLAN_CLOSE, pos):
                return pos + len(PLAN_CLOSE) == n, pos + len(PLAN_CLOSE) == n
            rest = body[pos:]
            if PLAN_CLOSE.startswith(rest):
                return True, False
            if used and start == pos and not rest.startswith("</"):
                return False, False  # items need a separator between them ... unless the plan closes
            if not rest.startswith("<img"):
                return bool(free) and "<img".startswith(rest), False
            pos += 4
            k_end = pos
            while k_end < n and body[k_end].isdigit():
                k_end += 1
            if k_end == n:
                return _number_viable(body[pos:k_end], free, final=False), False
            if not _number_viable(body[pos:k_end], free, final=True) or not body.startswith(">@", k_end):
                return body[k_end:] == ">" and _number_viable(body[pos:k_end], free, final=True), False
            used.add(int(body[pos:k_end]))
            pos = k_end + 2
            s_end = pos
            while s_end < n and body[s_end].isdigit():
                s_end += 1
            if s_end == n:
                return _number_viable(body[pos:s_end], slots, final=False), False
            if not _number_viable(body[pos:s_end], slots, final=True):
                return False, False
            pos = s_end

    def _split(self, text: str) -> tuple[bool, str | None]:
        """(viable so far, the text after ``<plan>`` or None if the plan has not started)."""
        head = (THINK_OPEN if self.think else "")
        if len(text) < len(head):
            return head.startswith(text), None
        if not text.startswith(head):
            return False, None
        rest = text[len(head):]
        if self.think:
            close = rest.find(THINK_CLOSE)
            if close < 0:
                return True, None  # free reasoning text
            rest = rest[close + len(THINK_CLOSE):]
            stripped = rest.lstrip(" \n")
            if len(rest) - len(stripped) > 2:
                return False, None
            rest = stripped
        if len(rest) < len(PLAN_OPEN):
            return PLAN_OPEN.startswith(rest), None
        if not rest.startswith(PLAN_OPEN):
            return False, None
        return True, rest[len(PLAN_OPEN):]

    def viable(self, text: str) -> bool:
        ok, body = self._split(text)
        return ok and (body is None or self._body_viable(body)[0])

    def complete(self, text: str) -> bool:
        ok, body = self._split(text)
        return ok and body is not None and self._body_viable(body)[1]

    def in_reasoning(self, text: str) -> bool:
        """True while the output is inside the free ``<think>`` span."""
        return self.think and text.startswith(THINK_OPEN) and THINK_CLOSE not in text

    def plan_text(self, text: str) -> str | None:
        """The items between ``<plan>`` and ``</plan>`` (or to the end if unclosed); None if no plan."""
        start = text.find(PLAN_OPEN)
        if start < 0:
            return None
        body = text[start + len(PLAN_OPEN):]
        end = body.find(PLAN_CLOSE)
        return (body if end < 0 else body[:end]).strip()
