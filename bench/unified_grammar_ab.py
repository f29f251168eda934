"""Answer time of the shipped unified model under today's modality grammar and an older revision's, side by side.

The same drafts are answered under each grammar in turn (old, new, old, new per question) in one process, so
the machine's drift falls on both; prints each question's times and the medians' ratio (new / old).

    .venv/bin/python bench/unified_grammar_ab.py --rev c3ddeab --index index/wireshark \\
        "How do I colorize packets by protocol?" "rtp jitter lost packets"
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def old_grammar(rev: str):
    """The ``m2io.unified.grammar`` module as it stood at git revision ``rev``."""
    text = subprocess.run(["git", "show", f"{rev}:src/m2io/unified/grammar.py"], check=True, capture_output=True,
                          text=True).stdout
    path = Path(tempfile.mkdtemp()) / "grammar_old.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("grammar_old", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("questions", nargs="+")
    ap.add_argument("--rev", required=True, help="The git revision of the older grammar.")
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--model", type=Path, default=Path("models/unified"))
    args = ap.parse_args()

    import m2io.unified.grammar as new
    import m2io.unified.model as model_module
    from m2io.retrieve import Retriever
    from m2io.unified.answer import UnifiedAnswerer
    from m2io.unified.model import UnifiedModel

    old = old_grammar(args.rev)
    answerer = UnifiedAnswerer(UnifiedModel.load(args.model), Retriever.open(args.index))
    drafts = [answerer.pipeline.draft(q, None) for q in args.questions]
    answerer.answer_draft(drafts[0])  # loads and warms the model
    times = {"old": [], "new": []}
    for question, draft in zip(args.questions, drafts):
        mine = {"old": [], "new": []}
        for name, module in (("old", old), ("new", new), ("old", old), ("new", new)):
            model_module.ModalityGrammar = module.ModalityGrammar
            t = time.perf_counter()
            answerer.answer_draft(draft)
            mine[name].append(time.perf_counter() - t)
        model_module.ModalityGrammar = new.ModalityGrammar
        print(f"{question[:40]:40s} old {mine['old'][0]:.1f} {mine['old'][1]:.1f} s  new {mine['new'][0]:.1f} "
              f"{mine['new'][1]:.1f} s")
        for name in times:
            times[name] += mine[name]
    old_s, new_s = statistics.median(times["old"]), statistics.median(times["new"])
    print(f"median old {old_s:.2f} s, new {new_s:.2f} s, ratio new/old {new_s / old_s:.3f}")


if __name__ == "__main__":
    main()
