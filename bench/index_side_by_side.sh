#!/usr/bin/env bash
# `m2io index` of one corpus by two checkouts, alternating, twice each, on one core: wall time and peak RSS.
#   bench/index_side_by_side.sh data/kicad /work/before/src src > bench/results/e2e/index-side-by-side.txt
# (BEFORE_SRC: an older checkout's src folder, e.g. a `git worktree` of commit 9e1f10a; NOW_SRC: this one's.)
set -euo pipefail
corpus=$1; before=$2; now=$3
for round in 1 2; do
  for side in before now; do
    src=$before; [ "$side" = now ] && src=$now
    out=$(mktemp -d); start=$(date +%s.%N)
    PYTHONPATH=$(realpath "$src") /usr/bin/time -v taskset -c 1 .venv/bin/python -m m2io.cli index "$corpus" \
      --out "$out/index" > "$out/log" 2>&1
    end=$(date +%s.%N)
    echo "$side round $round: $(echo "$end - $start" | bc) s, $(grep 'Maximum resident' "$out/log" | tr -s ' \t' ' ')"
    rm -rf "$out"
  done
done
