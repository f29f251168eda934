#!/usr/bin/env bash
# The unified GRPO ablation (issue 17) at this machine's scale: every row the same budget (STEPS steps of
# 8 completions from the warmed-up model), benchmarked at its end on every Debian Handbook question
# (greedy text, images drawn at 1.0). One seed per row unless SEEDS says more. Rows run in the order
# below; the all-rewards + process row is also benchmarked on every KiCad question.
#   STEPS=12 SEEDS="0" bash bench/unified_grpo_ablation.sh
set -euo pipefail
STEPS=${STEPS:-12}; SEEDS=${SEEDS:-0}; LR=${LR:-3e-6}; RUNS=${RUNS:-runs/unified-grpo-ablation}
TRAIN="data/gimp data/drgeo data/grass data/hugin data/tuxpaint data/openshot"
row() {  # name, then extra options
  local name=$1; shift
  for seed in $SEEDS; do
    local out=$RUNS/$name-s$seed
    .venv/bin/m2io unified grpo $TRAIN --model runs/unified-warmup --index index/gimp --dev data/debhandbook \
      --dev-index index/debhandbook --out "$out" --steps "$STEPS" --eval-every "$STEPS" --no-eval-at-start \
      --lr "$LR" --seed "$seed" "$@"
    rm -rf "$out"/checkpoint-*
  done
}
row all-process --process-weight 0.5
.venv/bin/m2io eval data/kicad --task interleaved --index index/kicad --unified-model $RUNS/all-process-s0 \
  --json bench/results/unified/kicad-grpo.json
row structure --w-text 0 --w-visual 0
row structure-text --w-visual 0
row all
row all-process-nokl --process-weight 0.5 --beta 0
row all-process-g2 --process-weight 0.5 --group 2 --prompts-per-step 4
row all-process-g8 --process-weight 0.5 --group 8 --prompts-per-step 1
