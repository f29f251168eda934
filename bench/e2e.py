"""End to end, as users see it: answerer x inserter, per corpus and question kind, with the oracle ceiling.

    .venv/bin/python bench/e2e.py --corpus kicad=data/kicad=index/kicad --questions questions \
        --answerers focused section extractive --inserters r1 rule source --json bench/results/e2e/kicad.json

For every question of each corpus (its template questions, and with ``--questions`` the
user-phrased ones of ``<questions>/<name>.jsonl``), each answerer drafts the answer once (retrieval,
section ranking, composition, provenance, candidates), and every inserter places the figures in that
same draft, so the inserters are compared on identical text. Per cell: n, image F1 / precision /
recall, ordering, exact and soft position, sections per answer, first section right, words,
ROUGE-L and BERTScore (bundled MiniLM) against the gold answer, the oracle-selection ceiling (F1 of
keeping exactly the gold images among the candidates), each with its 95% bootstrap interval, and
median stage times (retrieve, rank, answer, insert, total) in ms. ``--answerers llm`` runs the
bundled SmolLM2-135M (seconds per answer); its answers are kept in ``--llm-cache`` and reused.
Per-item records go to ``--items`` (JSON Lines; not committed).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tqdm import tqdm

from m2io.components import ComponentConfig, Components
from m2io.corpus.mramg import dataset_names, read_dataset
from m2io.corpus.questions import TEMPLATE, question_kinds, read_questions, user_qa
from m2io.evaluate.end_to_end import answer_scores, e2e_scores
from m2io.evaluate.summary import summarize
from m2io.metrics import rouge_l, strip_placeholders
from m2io.pipeline import Pipeline, PipelineConfig
from m2io.retrieve import Retriever

COLUMNS = ("image_f1", "image_precision", "image_recall", "ordering", "position_accuracy", "position_accuracy_soft",
           "answer_sections", "section_top1", "answer_words", "rouge_l", "bertscore_f1", "oracle_f1")


def cell(s: dict, key: str, digits: int = 3) -> str:
    if s.get(key) is None:
        return "-"
    ci = s.get(f"{key}_ci95")
    return f"{s[key]:.{digits}f} [{ci[0]:.{digits - 1}f}, {ci[1]:.{digits - 1}f}]" if ci else f"{s[key]:.{digits}f}"


def table(rows: list[dict]) -> str:
    head = ("| corpus | questions | answerer | inserter | n | image F1 | ordering | soft position | exact position | "
            "sections | first section right | ROUGE-L | BERTScore | oracle F1 | words | ask p50 ms | insert p50 ms |")
    out = [head, "| --- " * head.count("|") + "|"][:1] + ["|" + " --- |" * (head.count("|") - 1)]
    for r in rows:
        s = r["scores"]
        out.append(f"| {r['corpus']} | {r['kind']} | {r['answerer']} | {r['inserter']} | {s['n']} | "
                   + " | ".join(cell(s, k) for k in ("image_f1", "ordering", "position_accuracy_soft",
                                                        "position_accuracy"))
                   + f" | {cell(s, 'answer_sections', 2)} | {cell(s, 'section_top1')} | {cell(s, 'rouge_l')} | "
                     f"{cell(s, 'bertscore_f1')} | {cell(s, 'oracle_f1')} | {s['answer_words']:.0f} | "
                     f"{s['stage_ms_p50'].get('total', 0):.0f} | {s['stage_ms_p50'].get('insert', 0):.1f} |")
    return "\n".join(out)


def kind_table(rows: list[dict]) -> str:
    out = ["| corpus | question kind | answerer | inserter | n | image F1 | soft position | first section right | "
           "ROUGE-L | BERTScore |", "|" + " --- |" * 10]
    for r in rows:
        s = r["scores"]
        out.append(f"| {r['corpus']} | {r['question_kind']} | {r['answerer']} | {r['inserter']} | {s['n']} | "
                   + " | ".join(cell(s, k) for k in ("image_f1", "position_accuracy_soft", "section_top1", "rouge_l",
                                                        "bertscore_f1")) + " |")
    return "\n".join(out)


def questions_of(folder: Path, name: str, questions: Path | None) -> list[tuple[str, list, dict]]:
    """(kind label, QA items, kinds) of one dataset: its template questions, then its user-phrased ones."""
    ds = read_dataset(folder, name)
    out = [(TEMPLATE, [q for q in ds.qa if q.image_ids], {})]
    if questions is not None and (questions / f"{name}.jsonl").is_file():
        asked = read_questions(questions / f"{name}.jsonl")
        out.append(("user", [q for q in user_qa(ds, asked, questions / f"{name}.jsonl") if q.image_ids],
                    question_kinds(asked)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", nargs="+", help="NAME=DATASET_FOLDER=INDEX_FOLDER")
    ap.add_argument("--questions", type=Path, default=None)
    ap.add_argument("--answerers", nargs="+", default=["focused", "section", "extractive"])
    ap.add_argument("--inserters", nargs="+", default=["r1", "rule", "source"])
    ap.add_argument("--reranker", default="auto", help="a reranker folder, auto, or none")
    ap.add_argument("--r1-policy", default="auto")
    ap.add_argument("--k", type=int, default=PipelineConfig.k)
    ap.add_argument("--candidates", default="answer", choices=["answer", "retrieved"])
    ap.add_argument("--limit", type=int, default=None, help="at most this many questions per corpus and kind")
    ap.add_argument("--llm-cache", type=Path, default=Path("runs/llm-answers.jsonl"))
    ap.add_argument("--no-bertscore", action="store_true")
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--render", action="store_true", help="print the tables of an existing --json and stop")
    ap.add_argument("--items", type=Path, default=None, help="per-item records (JSON Lines) [runs/e2e/<json stem>]")
    args = ap.parse_args()
    if args.render:
        done = json.loads(args.json.read_text())
        print(table(done["rows"]) + "\n\n" + kind_table(done.get("by_question_kind", [])))
        return
    if not args.corpus:
        ap.error("--corpus is required (or --render)")

    config = ComponentConfig(reranker=None if args.reranker == "none" else args.reranker, r1_policy=args.r1_policy)
    pipeline_config = PipelineConfig(k=args.k, candidates=args.candidates)
    scorer = None
    if not args.no_bertscore:
        from m2io.metrics import BertScore

        scorer = BertScore()
    records: list[dict] = []
    for spec in args.corpus:
        label, folder, index = spec.split("=")
        retriever = Retriever.open(index)
        components = Components(config, retriever.models.text)
        inserters = {n: components.inserter(n) for n in args.inserters}
        for name in dataset_names(Path(folder)):
            for kind, items, kinds in questions_of(Path(folder), name, args.questions):
                items = items[: args.limit] if args.limit else items
                for answerer_name in args.answerers:
                    answerer = components.answerer(retriever, answerer_name)
                    if answerer_name == "llm":
                        from m2io.train.policy.pipeline_tasks import CachedAnswerer

                        answerer = CachedAnswerer(answerer, args.llm_cache, "SmolLM2-135M-Instruct")
                    pipeline = Pipeline(retriever, answerer, inserters[args.inserters[0]], pipeline_config)
                    texts = []
                    for q in tqdm(items, desc=f"{label} {kind} {answerer_name}", unit="q"):
                        draft = pipeline.draft(q.question)
                        reference = strip_placeholders(q.ground_truth)
                        text = " ".join(draft.segments)
                        texts.append((reference, text))
                        shared = {**answer_scores(q, name, draft.candidates, draft.provenance, draft.segments),
                                  "rouge_l": rouge_l(reference, text)}
                        for inserter_name, inserter in inserters.items():
                            pipeline.inserter = inserter
                            t = time.perf_counter()
                            result = pipeline.place(draft)
                            if answerer_name == "llm":  # the cached answer's time is the time it took to write
                                result.timings["answer"] = draft.text_answer.seconds
                                result.timings["total"] = sum(v for k, v in result.timings.items() if k != "total")
                            scores = {**e2e_scores(q, draft.segments, result.answer.placements), **shared}
                            records.append({
                                "corpus": label, "kind": kind, "question_kind": kinds.get(q.id, TEMPLATE),
                                "answerer": answerer_name, "inserter": inserter_name, "qa_id": q.id,
                                "query": q.question, "segments": draft.segments,
                                "provenance": [[o.section, o.position, o.score] if o else None
                                               for o in draft.provenance],
                                "candidates": [c.image.id for c in draft.candidates],
                                "gold": list(dict.fromkeys(q.image_ids)),
                                "placements": [[p.image_id, p.slot] for p in result.answer.placements],
                                "scores": scores, "latency_ms": result.timings["total"] * 1000,
                                "stage_ms": {k: v * 1000 for k, v in result.timings.items()},
                                "model_calls": result.model_calls, "tokens_generated": result.tokens_generated,
                                "fallback": result.insert.fallback, "_place_s": time.perf_counter() - t})
                    if scorer is not None and texts:
                        f1 = scorer([r for r, _ in texts], [t for _, t in texts])
                        n_ins = len(inserters)
                        cell_records = records[-len(texts) * n_ins:]
                        for i, value in enumerate(f1):
                            for j in range(n_ins):
                                cell_records[i * n_ins + j]["scores"]["bertscore_f1"] = value
        retriever.close()
    rows = []
    keys = list(dict.fromkeys((r["corpus"], r["kind"], r["answerer"], r["inserter"]) for r in records))
    for corpus, kind, answerer_name, inserter_name in keys:
        sel = [r for r in records if (r["corpus"], r["kind"], r["answerer"], r["inserter"]) ==
               (corpus, kind, answerer_name, inserter_name)]
        rows.append({"corpus": corpus, "kind": kind, "answerer": answerer_name, "inserter": inserter_name,
                     "scores": summarize(sel)})
    # user-phrased questions per kind (task, symptom, screen, keyword, long): the default answerer and inserter only
    by_kind = []
    for corpus, kind, answerer_name, inserter_name in keys:
        if kind == TEMPLATE:
            continue
        sel = [r for r in records if (r["corpus"], r["kind"], r["answerer"], r["inserter"]) ==
               (corpus, kind, answerer_name, inserter_name)]
        for qk in sorted({r["question_kind"] for r in sel}):
            by_kind.append({"corpus": corpus, "question_kind": qk, "answerer": answerer_name,
                            "inserter": inserter_name, "scores": summarize([r for r in sel if r["question_kind"] == qk])})
    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {"command": " ".join(["bench/e2e.py", *__import__("sys").argv[1:]]), "k": args.k,
            "reranker": args.reranker, "r1_policy": args.r1_policy, "candidates": args.candidates,
            "date": time.strftime("%Y-%m-%d")}
    args.json.write_text(json.dumps({**meta, "rows": rows, "by_question_kind": by_kind}, indent=1, default=float)
                         + "\n")
    items = args.items or Path("runs/e2e") / (args.json.stem + ".items.jsonl")
    items.parent.mkdir(parents=True, exist_ok=True)
    items.write_text("".join(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}, default=float) + "\n"
                             for r in records))
    print(table(rows) + "\n\n" + kind_table(by_kind))
    print(f"wrote {args.json} and {items}")


if __name__ == "__main__":
    main()
