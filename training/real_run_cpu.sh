#!/usr/bin/env bash
# The reduced CPU run reported in training/README.md ("A real run on this CPU"):
# both architectures, the paper's recipe at 110x132 input, 4 epochs, random initialisation,
# one shared split, then evaluate, compare (DeLong) and export. Run from the repository root.
set -euo pipefail
PY=${PY:-.venv/bin/python}
OUT=${OUT:-runs/fracatlas-110x132}
COMMON="--data ../shared/data/fracatlas-hand --layout fracatlas-hand --init none --offline
  --input-width 110 --input-height 132 --epochs 4 --workers 1 --seed 0 --no-progress"
$PY -m training fit $COMMON --arch densenet161 --out $OUT/densenet161
$PY -m training evaluate $OUT/densenet161 --no-progress
$PY -m training fit $COMMON --arch resnet152 --split $OUT/densenet161/split --out $OUT/resnet152
$PY -m training evaluate $OUT/resnet152 --no-progress
$PY -m training compare $OUT/densenet161/evaluation $OUT/resnet152/evaluation --out $OUT/comparison
$PY -m training export $OUT/densenet161 --out $OUT/densenet161-fracatlas-110x132.safetensors
$PY -m training export $OUT/resnet152 --out $OUT/resnet152-fracatlas-110x132.safetensors
