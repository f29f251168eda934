"""Where a unified GRPO policy moved away from its reference: the KL at image-token and at text positions.

TRL logs one KL per step, averaged over every completion token. Here the policy samples answers
to training questions as in training (under the modality grammar, at the training temperature),
and at every position of those answers the exact KL(policy || reference) of the next-token
distributions (both at that temperature, as TRL scores them) is split by what the sampled token
is: one of the 64 image codes of an image span, or anything else (text, tags, the end). Means
per position with 95% bootstrap intervals over answers.

    .venv/bin/python bench/unified_kl_split.py --policy runs/unified-grpo --reference runs/unified-warmup \\
        --corpus data/gimp --n 16 --json bench/results/unified/kl-split.json
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import torch

from m2io.evaluate.bootstrap import bootstrap_ci


def position_kl(policy, reference, prompt: list[int], answer: list[int], temperature: float) -> torch.Tensor:
    """KL(policy || reference) of the next-token distribution before each answer token, (len(answer),)."""
    ids = torch.tensor([prompt + answer])
    with torch.no_grad():
        logits_p = policy(ids).logits[0, len(prompt) - 1:-1].float() / temperature
        logits_r = reference(ids).logits[0, len(prompt) - 1:-1].float() / temperature
    logp, logr = logits_p.log_softmax(-1), logits_r.log_softmax(-1)
    return (logp.exp() * (logp - logr)).sum(-1)


def main() -> None:
    from m2io.corpus.mramg import read_dataset
    from m2io.corpus.split import select_items
    from m2io.unified.model import UnifiedModel

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--policy", required=True, type=Path)
    ap.add_argument("--reference", required=True, type=Path)
    ap.add_argument("--corpus", required=True, type=Path, help="A training dataset; its train-split questions prompt")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--temperature", type=float, default=0.5)
    ap.add_argument("--max-new-tokens", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    policy, reference = UnifiedModel.load(args.policy), UnifiedModel.load(args.reference)
    policy.lm.eval(), reference.lm.eval()
    questions = [q.question for q in select_items(read_dataset(args.corpus).qa, "train")]
    random.Random(args.seed).shuffle(questions)
    per_kind: dict[str, list[float]] = {"image": [], "text": []}
    for i, question in enumerate(questions[:args.n]):
        [(answer, _)] = policy.generate([question], max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                                        top_p=1.0, seed=args.seed + i)  # TRL samples without top-p
        if not answer:
            continue
        kl = position_kl(policy.lm, reference.lm, policy.prompt_ids(question), list(answer), args.temperature)
        image = torch.tensor([policy.vocab.is_image(t) for t in answer])
        for kind, mask in (("image", image), ("text", ~image)):
            if mask.any():
                per_kind[kind].append(float(kl[mask].mean()))
    out = {"policy": str(args.policy), "reference": str(args.reference), "corpus": str(args.corpus),
           "temperature": args.temperature}
    for kind, values in per_kind.items():
        out[kind] = {"kl_mean": round(sum(values) / len(values), 4) if values else None,
                     "ci95": bootstrap_ci(values), "answers": len(values)}
        print(f"{kind:5s} positions: KL {out[kind]['kl_mean']} {out[kind]['ci95']} over {len(values)} answers")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
