"""Time grounded unified answers one at a time, as `m2io ask --generator unified` makes them, with
prompt-lookup decoding on and off side by side (alternating per question, same questions); or, with
``--passage-words``, prompts that hold that many words of the passage, with ``--windows``, answers
written from that many passage windows, or with ``--rules``, the passage rules (passage end, line budget) on
and off, with ``--lookup``, prompt-lookup candidates of these lengths, or with ``--against FOLDER``, the model
against another unified model folder (a new model against the shipped one), side by side the same way.
``--user-questions FILE`` times the questions of a user-phrased set (``questions/NAME.jsonl``) instead of the
dataset's own.

Reports the model's load time (the LoRA folder applied to the bundled base and merged), then per
setting the median and p90 of the whole answer (retrieve and draft, generate, decode), of the first
window (what the streamed page shows first: ``UnifiedAnswerer.stream``) and of the generation alone,
tokens, and whether both settings wrote the same tokens.

    .venv/bin/python bench/unified_latency.py --index index/wireshark --dataset data/wireshark --n 20 \
        --json bench/results/unified/latency.json
    .venv/bin/python bench/unified_latency.py --index index/wireshark --dataset data/wireshark --n 20 \
        --windows 1 2 --json bench/results/unified/grounded/latency-windows.json
    .venv/bin/python bench/unified_latency.py --index index/wireshark --dataset data/wireshark --n 20 \
        --rules --json bench/results/unified/grounded/latency-rules.json
    .venv/bin/python bench/unified_latency.py --index index/wireshark --dataset data/wireshark --n 20 \
        --unified-model runs/unified-grpo --against models/unified --json latency-models.json
    .venv/bin/python bench/unified_latency.py --index index/wireshark --dataset data/wireshark --n 30 \
        --user-questions questions/wireshark.jsonl --lookup 10 20 30 --json latency-lookup.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--unified-model", default=None, help="a unified model folder [models/unified]")
    ap.add_argument("--dataset", required=True, type=Path)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--passage-words", type=int, nargs="+", default=None,
                    help="compare prompts with these passage lengths (lookup on) instead of lookup on and off")
    ap.add_argument("--windows", type=int, nargs="+", default=None,
                    help="compare answers from this many passage windows (lookup on) instead of lookup on and off")
    ap.add_argument("--rules", action="store_true",
                    help="compare the passage rules on (the default) and off instead of lookup on and off")
    ap.add_argument("--lookup", type=int, nargs="+", default=None,
                    help="compare prompt-lookup candidates of these lengths instead of lookup on and off")
    ap.add_argument("--user-questions", type=Path, default=None,
                    help="time these user-phrased questions (JSONL with a question field) instead of the dataset's")
    ap.add_argument("--against", type=Path, default=None,
                    help="compare the model with this other unified model folder (default settings both)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import numpy as np

    from m2io.corpus.mramg import read_dataset
    from m2io.corpus.questions import read_questions
    from m2io.retrieve import Retriever
    from m2io.unified.answer import UnifiedAnswerer, UnifiedConfig
    from m2io.unified.model import UnifiedModel
    from m2io.unified.shipped import resolve_unified

    folder = resolve_unified(args.unified_model)
    t = time.perf_counter()
    model = UnifiedModel.load(Path(folder))
    load_s = time.perf_counter() - t
    retriever = Retriever.open(args.index)
    models = {}
    if args.against:
        settings = {f"model {folder}": UnifiedConfig(), f"model {args.against}": UnifiedConfig()}
        models = {f"model {args.against}": UnifiedModel.load(args.against)}
    elif args.windows:
        settings = {f"windows {w}": UnifiedConfig(windows=w) for w in args.windows}
    elif args.lookup:
        settings = {f"lookup {n}": UnifiedConfig(lookup=n) for n in args.lookup}
    elif args.rules:
        settings = {"rules on": UnifiedConfig(),
                    "rules off": UnifiedConfig(passage_end=False, line_budget=False)}
    elif args.passage_words:
        settings = {f"passage {w}": UnifiedConfig(passage_words=w) for w in args.passage_words}
    else:
        settings = {"lookup 10": UnifiedConfig(lookup=10), "no lookup": UnifiedConfig(lookup=None)}
    first = UnifiedAnswerer(model, retriever, next(iter(settings.values())))
    answerers = {k: UnifiedAnswerer(models.get(k, model), retriever, c, pipeline=first.pipeline)
                 for k, c in settings.items()}
    if args.user_questions:
        questions = [q.question for q in read_questions(args.user_questions)][:args.n]
    else:
        questions = [q.question for q in read_dataset(args.dataset).qa if q.image_ids][:args.n]
    first.ask(questions[-1])  # the first call pays for lazy loads (section ranker); not timed
    rows = []
    for i, q in enumerate(questions):
        order = list(answerers) if i % 2 == 0 else list(reversed(answerers))
        out = {}
        for name in order:
            t = time.perf_counter()
            first_s = None
            for a in answerers[name].stream(q):  # the last is the whole answer, as ask returns it
                first_s = first_s if first_s is not None else time.perf_counter() - t
            out[name] = a
            rows.append({"setting": name, "question": q, "seconds": a.timings["total"], "first_window_s": first_s,
                         "generate_s": a.timings["generate"], "tokens": a.tokens_generated,
                         "references": sum(s.kind == "reference" for s in a.steps), "well_formed": a.well_formed,
                         "words": sum(len(s.text.split()) for s in a.steps if s.kind == "text")})
        steps = [[(s.kind, s.text, s.ref) for s in a.steps] for a in out.values()]
        same = all(x == steps[0] for x in steps)
        for r in rows[-len(out):]:
            r["same_answer"] = same
        print(" vs ".join(f"{out[n].timings['total']:5.1f} s ({out[n].tokens_generated} tokens)" for n in settings)
              + f"  same {same}  {q[:60]}")
    summary = {"n": len(questions), "load_s": round(load_s, 2), "model": folder}
    for name in settings:
        sel = [r for r in rows if r["setting"] == name]
        summary[name] = {"median_s": statistics.median(r["seconds"] for r in sel),
                         "p90_s": float(np.percentile([r["seconds"] for r in sel], 90)),
                         "median_first_window_s": statistics.median(r["first_window_s"] for r in sel),
                         "p90_first_window_s": float(np.percentile([r["first_window_s"] for r in sel], 90)),
                         "median_generate_s": statistics.median(r["generate_s"] for r in sel),
                         "median_tokens": statistics.median(r["tokens"] for r in sel),
                         "median_words": statistics.median(r["words"] for r in sel),
                         "well_formed": sum(r["well_formed"] for r in sel) / len(sel)}
    names = list(settings)
    summary["ratio_of_medians"] = summary[names[-1]]["median_s"] / summary[names[0]]["median_s"]
    summary["generate_ratio"] = summary[names[-1]]["median_generate_s"] / summary[names[0]]["median_generate_s"]
    summary["same_answers"] = sum(r["same_answer"] for r in rows if r["setting"] == names[0]) / len(questions)
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"command": "bench/unified_latency.py " + " ".join(
            f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in vars(args).items() if v is not None and v is not False and k != "json"),
            "summary": summary, "rows": rows}, indent=1) + "\n")
    retriever.close()


if __name__ == "__main__":
    main()
