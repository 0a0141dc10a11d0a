#!/usr/bin/env bash
# The shipped DenseNet-161 bundle, reproduced from a fresh clone (training/README.md,
# "The shipped model"): the cpu-scratch preset on FracAtlas hand + every other region, tuned
# and tested on hand images only; then the evaluation beside the pixel-free control and the
# pointing game, the export (refused unless the model beats the control), and an evaluation
# of the exported file itself (float16 weights) on the same split.
# Resumable: run it again after an interruption and it continues from the last finished epoch.
# Progress with an ETA goes to stderr. Run from the repository root, after `make test` or
# `make run` has created .venv/. THREADS=1 when other work shares a 2-core machine.
set -euo pipefail
PY=${PY:-.venv/bin/python}
OUT=${OUT:-runs/shipped}
RUN=$OUT/densenet161
DATA=${DATA:-../shared/data}
EPOCHS=${EPOCHS:-7}
THREADS=${THREADS:-0}
BUNDLE=${BUNDLE:-resources/models/densenet161-fracatlas.safetensors}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs);" \
  "flags: $(grep -o -w -E 'avx2|avx512f|avx512_vnni|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | xargs)" >&2
if [ -f "$RUN/checkpoint.pt" ]; then
  $PY -m training fit --out "$RUN" --resume --epochs "$EPOCHS" --threads "$THREADS"
else
  $PY -m training fit --preset cpu-scratch --arch densenet161 \
    --data "$DATA/fracatlas-hand" --extra-data "$DATA/fracatlas-other" \
    --out "$RUN" --epochs "$EPOCHS" --threads "$THREADS" --workers 2 --seed 0 \
    --box-balance-from-epoch 5
fi
$PY -m training evaluate "$RUN"
$PY -m training export "$RUN" --out "$BUNDLE" --name densenet161-fracatlas --version 1.0.0
$PY -m training evaluate "$BUNDLE" --split "$RUN/split" --out "$OUT/shipped-bundle-evaluation" \
  --cache-dir "$OUT/cache" --gallery 0
