#!/usr/bin/env bash
# README quickstart: sets the environment up if needed, generates the synthetic S4 set (with Maskiges), trains
# the small COMBO model through tools/train.py, evaluates it through tools/test.py with the real, silenced and
# swapped audio, writes overlay images, runs the video demo on a generated video (work_dirs/quickstart/demo.mp4:
# the masks over the video, its sound kept) and prints a summary.
#
# Environment: DATA (default data/synthetic_s4), WORK (default work_dirs/quickstart), PYTHON (default python),
# CONFIG (default configs/combo/combo_tiny_synthetic_s4.py; configs/tpavi/tpavi_tiny_synthetic_s4.py is the
# small TPAVI baseline), TRAIN_OPTIONS (extra --cfg-options for training, e.g. "train_cfg.max_iters=1500
# train_cfg.val_interval=1500 param_scheduler.0.end=1500"; tools/train.py --iters N does the same).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
DATA=${DATA:-data/synthetic_s4}
WORK=${WORK:-work_dirs/quickstart}
CFG=${CONFIG:-configs/combo/combo_tiny_synthetic_s4.py}

bash tools/setup_env.sh

# The index csv is written last (no csv: a partial set); no Maskige tree: a set generated without --maskige.
if [ ! -f "$DATA/s4_meta_data.csv" ] || [ ! -d "$DATA/s4_data/pre_SAM_mask" ]; then
  "$PY" tools/dataset_converters/synthetic_avsbench.py "$DATA" --subset s4 --seed 0 --maskige --overwrite
fi

start=$(date +%s)
# --overwrite: each quickstart trains from scratch, also into the work_dir of an earlier one (train.py refuses a
# work_dir holding checkpoints otherwise).
# shellcheck disable=SC2086
"$PY" tools/train.py "$CFG" --work-dir "$WORK" --data-root "$DATA" --overwrite ${TRAIN_OPTIONS:+--cfg-options $TRAIN_OPTIONS}
train_s=$(( $(date +%s) - start ))
ckpt="$WORK/$(basename "$(cat "$WORK/last_checkpoint")")"

runs=()
for perturb in none silence swap; do
  out="$WORK/test_$perturb"
  extra=()
  [ "$perturb" = none ] && extra=(--show-dir "$WORK/overlays")
  # shellcheck disable=SC2086
  "$PY" tools/test.py "$CFG" "$ckpt" --work-dir "$out" --audio-perturb "$perturb" "${extra[@]}" --data-root "$DATA"
  runs+=("$perturb=$out")
done

# The demo on a generated video with sound (objects taking turns sounding; the Maskige of every frame for COMBO):
# the masks drawn over the video, the original sound kept.
"$PY" tools/demo/make_synthetic_video.py "$WORK/demo_input.mp4" --seconds 10 --fps 10 --size 128 --seed 0 \
  --maskige-dir "$WORK/demo_maskige"
"$PY" tools/demo/video_demo.py "$WORK/demo_input.mp4" "$CFG" "$ckpt" --out "$WORK/demo.mp4" \
  --maskige-dir "$WORK/demo_maskige"

"$PY" - "$train_s" "$WORK/overlays" "$WORK/demo.mp4" "${runs[@]}" <<'PYEOF'
import glob, json, os, sys
train_s, overlays, demo, runs = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
print(f'\nquickstart: trained in {train_s / 60:.1f} min; overlays in {overlays}; demo video {demo}')
print(f'{"audio":<10}{"mJ":>8}{"mF":>8}{"F_frame":>9}{"empty_frac":>12}')
for run in runs:
    name, work = run.split('=', 1)
    logs = sorted(glob.glob(os.path.join(work, '*', '*.json')))
    metrics = json.loads(open(logs[-1]).read().strip().splitlines()[-1])
    print(f'{name:<10}{metrics["mJ"]:>8.3f}{metrics["mF"]:>8.3f}{metrics["F_frame"]:>9.3f}{metrics["empty_frac"]:>12.3f}')
PYEOF
