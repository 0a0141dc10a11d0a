#!/usr/bin/env bash
# The shipped DenseNet-161 bundle, reproduced from a fresh clone (training/README.md,
# "The shipped model"): the cpu-scratch preset on FracAtlas hand + every other region, tuned
# and tested on hand images only; then evaluation beside the pixel-free control, and export.
# Resumable: run it again after an interruption and it continues from the last epoch.
# Progress with an ETA goes to stderr. Run from the repository root.
set -euo pipefail
PY=${PY:-.venv/bin/python}
OUT=${OUT:-runs/shipped}
RUN=$OUT/densenet161
DATA=${DATA:-../shared/data}
EPOCHS=${EPOCHS:-7}
THREADS=${THREADS:-0}
lscpu | grep -E "Model name|Flags" | sed -E 's/^(Flags:).*/\1 '"$(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16|avx512_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ')"'/' >&2 || true
if [ -f "$RUN/checkpoint.pt" ]; then
  $PY -m training fit --out "$RUN" --resume --epochs "$EPOCHS" --threads "$THREADS"
else
  $PY -m training fit --preset cpu-scratch --arch densenet161 \
    --data "$DATA/fracatlas-hand" --extra-data "$DATA/fracatlas-other" \
    --out "$RUN" --epochs "$EPOCHS" --threads "$THREADS" --workers 2 --seed 0
fi
