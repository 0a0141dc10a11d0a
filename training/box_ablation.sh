#!/usr/bin/env bash
# The box-loss ablation (issue 11: "measure with and without it on the tuning set; keep it only
# if it helps"). Two DenseNet-161 runs of the cpu-scratch preset that differ only in
# --box-loss-weight (the preset's 1.0, balanced from the first epoch, against 0 = off): same
# seed, same split, same sampled images, same augmentation. Shorter than the shipped run
# (EPOCHS epochs of SAMPLES images, all at the low-resolution 0.7x input) so that both arms fit
# one session side by side, one thread each. The decision reads the TUNING figures only: tuning
# AUROC and the pointing game on the tuning fractures; the test figures are not looked at.
# SEED (default 0) changes the split and the training seed together: a second seed is a replicate.
# Resumable: run it again after an interruption. Run from the repository root after `make test`.
set -euo pipefail
PY=${PY:-.venv/bin/python}
SEED=${SEED:-0}
OUT=${OUT:-runs/box-ablation$([ "$SEED" = 0 ] || echo "-seed$SEED")}
DATA=${DATA:-../shared/data}
EPOCHS=${EPOCHS:-4}
SAMPLES=${SAMPLES:-800}
THREADS=${THREADS:-1}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs);" \
  "flags: $(grep -o -w -E 'avx2|avx512f|avx512_vnni|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | xargs)" >&2
arm() {  # arm NAME BOX_WEIGHT
  local run=$OUT/$1
  if [ -f "$run/checkpoint.pt" ]; then
    $PY -m training fit --out "$run" --resume --threads "$THREADS"
  else
    $PY -m training fit --preset cpu-scratch --arch densenet161 \
      --data "$DATA/fracatlas-hand" --extra-data "$DATA/fracatlas-other" \
      --out "$run" --epochs "$EPOCHS" --low-res-epochs "$EPOCHS" --epoch-samples "$SAMPLES" \
      --box-loss-weight "$2" --threads "$THREADS" --workers 0 --seed "$SEED" \
      --cache-dir "$OUT/cache"
  fi
  $PY -m training evaluate "$run" --gallery 0
}
mkdir -p "$OUT"
arm with-box 1.0 > "$OUT-with-box.log" 2>&1 &
a=$!
# the second arm starts once the first has filled the shared preprocessing cache
until grep -q "epoch 1/" "$OUT-with-box.log" 2>/dev/null || ! kill -0 $a 2>/dev/null; do sleep 20; done
arm without-box 0 > "$OUT-without-box.log" 2>&1 &
b=$!
wait $a && wait $b
$PY - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
print("| arm | tuning AUROC (95% CI) | tuning pointing game |")
print("|---|---|---|")
for arm in ("with-box", "without-box"):
    ev = json.loads((out / arm / "evaluation" / "evaluation.json").read_text())
    auc, pg = ev["tuning_auroc"], ev["tuning_pointing_game"]
    lo, hi = auc["ci_low"], auc["ci_high"]
    plo, phi = pg["ci95"]
    print(f"| {arm} (epoch {ev['epoch']}) | {auc['auc']:.3f} ({lo:.3f}-{hi:.3f}) | "
          f"{pg['hits']}/{pg['n']} = {pg['hit_rate']:.0%} ({plo:.0%}-{phi:.0%}) |")
PY
