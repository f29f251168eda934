#!/usr/bin/env bash
# The unified GRPO ablation (issue 17) at this machine's scale: every row the same budget (STEPS steps of
# 8 completions from the warmed-up model), benchmarked at its end on every Debian Handbook question
# (greedy text, images drawn at 1.0). SEEDS picks the seeds, ROWS the rows (all below by default); a run
# folder that already holds its model is skipped. The all-rewards + process row's seed 0 is also
# benchmarked on every KiCad question.
#   STEPS=12 SEEDS="0 1 2" bash bench/unified_grpo_ablation.sh
#   SEEDS="1 2" ROWS="all-process" bash bench/unified_grpo_ablation.sh
set -euo pipefail
STEPS=${STEPS:-12}; SEEDS=${SEEDS:-0}; LR=${LR:-3e-6}; RUNS=${RUNS:-runs/unified-grpo-ablation}
ROWS=${ROWS:-"all-process structure structure-text all all-process-nokl all-process-g2 all-process-g8 all-process-gdpo all-process-own"}
TRAIN="data/gimp data/drgeo data/grass data/hugin data/tuxpaint data/openshot"
row() {  # name, then extra options
  local name=$1; shift
  [[ " $ROWS " == *" $name "* ]] || return 0
  for seed in $SEEDS; do
    local out=$RUNS/$name-s$seed
    [[ -f $out/model.safetensors ]] && continue
    .venv/bin/m2io unified grpo $TRAIN --model runs/unified-warmup --index index/gimp --dev data/debhandbook \
      --dev-index index/debhandbook --out "$out" --steps "$STEPS" --eval-every "$STEPS" --no-eval-at-start \
      --lr "$LR" --seed "$seed" "$@"
    rm -rf "$out"/checkpoint-*
    if [[ $name == all-process && $seed == 0 ]]; then
      .venv/bin/m2io eval data/kicad --task interleaved --index index/kicad --unified-model "$out" \
        --json bench/results/unified/kicad-grpo.json
    fi
  done
}
row all-process --process-weight 0.5
row structure --w-text 0 --w-visual 0
row structure-text --w-visual 0
row all
row all-process-nokl --process-weight 0.5 --beta 0
row all-process-g2 --process-weight 0.5 --group 2 --prompts-per-step 4
row all-process-g8 --process-weight 0.5 --group 8 --prompts-per-step 1
row all-process-gdpo --process-weight 0.5 --aggregation normalize_then_sum
row all-process-own --process-weight 0.5 --image-credit own --step-norm per_kind
