"""The shipped model's answers, under today's answerer, to the questions of an interleaved run that looped.

Reads an ``m2io eval --task interleaved`` run's items, asks the named questions again (defaults: the index, the
shipped model, ``UnifiedConfig()``) and prints, per question, well-formed, damage, loop breaks, any phrase
repeated three times in the text, and the referenced figures before and after. An argument ``name=0|1`` sets
that boolean ``UnifiedConfig`` field (``passage_end=0 line_budget=0``: both rules off).

    .venv/bin/python bench/unified_loop_questions.py runs/pw/ws-w6-lb.items.jsonl index/wireshark out.json \
        template/58 template/100 template/99 template/20 user/u2 user/u19 user/u21 user/u28 line_budget=0
"""
import json, re, sys, time
from m2io.retrieve import Retriever
from m2io.unified.answer import UnifiedAnswerer, UnifiedConfig
from m2io.unified.model import UnifiedModel
from m2io.unified.shipped import resolve_unified
rows = [json.loads(l) for l in open(sys.argv[1])]
want = {tuple(a.split("/", 1)) for a in sys.argv[4:] if "=" not in a}
options = {k: bool(int(v)) for k, v in (a.split("=", 1) for a in sys.argv[4:] if "=" in a)}
if bad := [k for k in options if not isinstance(getattr(UnifiedConfig(), k, None), bool)]:
    sys.exit(f"not a boolean UnifiedConfig field: {', '.join(bad)}")
items = [r for r in rows if r['system']=='unified' and (r['kind'],r['qa_id']) in want]
model = UnifiedModel.load(resolve_unified(None))
ret = Retriever.open(sys.argv[2])
ans = UnifiedAnswerer(model, ret, UnifiedConfig(**options))
out = []
for r in items:
    t = time.time()
    a = ans.ask(r['query'])
    text = " ".join(s.text for s in a.steps if s.kind == "text")
    rep = re.search(r'((?:\b\S+\s+){1,4}?)\1{2,}', text)
    gold = set(r['gold']); shown = [s.figure.image_id for s in a.steps if s.kind == 'reference']
    rec = {"kind": r['kind'], "qa_id": r['qa_id'], "well_formed": a.well_formed, "damage": a.damage, "loops_broken": a.loops_broken,
           "lines_forbidden": a.lines_forbidden,
           "tokens": a.tokens_generated, "repeat": rep.group(0)[:60] if rep else None, "refs": shown,
           "refs_in_gold": sum(x in gold for x in shown), "before": {"well_formed": r['scores']['well_formed'], "damage": r['damage'],
           "refs": [s.get('image_id') for s in r['steps'] if s['kind']=='reference']}, "seconds": round(time.time()-t, 1)}
    print(json.dumps(rec)); out.append(rec)
json.dump(out, open(sys.argv[3], 'w'), indent=1)
