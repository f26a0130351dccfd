#!/usr/bin/env bash
# Short GPU check of an installed avsseg (builds and installs nothing; run tools/setup_env.sh first):
#   1. says which GPU, torch, mmcv ops and multi-scale deformable attention path are in use;
#   2. generates a small synthetic S4 set with Maskiges (tools/dataset_converters/synthetic_avsbench.py);
#   3. trains COMBO-PVT S4 and TPAVI-PVT S4 from random weights for a few iterations at batch 8, in fp32 and with
#      AMP (tools/train.py --amp), and tests each checkpoint (tools/test.py);
#   4. prints a summary of the runs (time per iteration, data time, GPU memory, test mJ) and the benchmark rows of
#      both configs (tools/analysis_tools/benchmark.py --all, fp32 and AMP, batch 8).
# Meant to finish within 10 minutes on one recent GPU (not measured: no GPU was available when it was written).
#
#   bash tools/gpu_check.sh [--iters N] [--work-dir DIR] [--configs CFG ...] [--allow-cpu]
#
# PYTHON selects the interpreter. Exit status: 0 all steps passed, 2 bad arguments, 3 no GPU, 1 a step failed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
ITERS=5
WORK=work_dirs/gpu_check
CONFIGS=(configs/combo/combo_pvt_s4.py configs/tpavi/tpavi_pvt_s4.py)
ALLOW_CPU=0
log() { echo "[gpu_check] $*"; }
usage() {
  cat <<'EOF'
usage: bash tools/gpu_check.sh [--iters N] [--work-dir DIR] [--configs CFG ...] [--allow-cpu]

  --iters N        training iterations per run (default 5; batch 8, fp32 and AMP)
  --work-dir DIR   data, logs and checkpoints (default work_dirs/gpu_check; checkpoints are deleted after testing)
  --configs CFG..  S4 configs to train (default configs/combo/combo_pvt_s4.py configs/tpavi/tpavi_pvt_s4.py)
  --allow-cpu      run without a GPU (for checking this script itself: fp32 only, slow with the full configs)
EOF
}
while [ $# -gt 0 ]; do
  case "$1" in
    --iters)
      [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "--iters needs a positive integer" >&2; usage >&2; exit 2; }
      ITERS=$2; shift 2 ;;
    --work-dir)
      [ $# -ge 2 ] && [ -n "$2" ] || { echo "--work-dir needs a directory" >&2; usage >&2; exit 2; }
      WORK=$2; shift 2 ;;
    --configs)
      shift; CONFIGS=()
      while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do CONFIGS+=("$1"); shift; done
      [ ${#CONFIGS[@]} -gt 0 ] || { echo "--configs needs at least one config" >&2; usage >&2; exit 2; } ;;
    --allow-cpu) ALLOW_CPU=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for cfg in "${CONFIGS[@]}"; do
  [ -f "$cfg" ] || { echo "config not found: $cfg" >&2; exit 2; }
done

# 1. The machine. No GPU: stop here, before anything is generated.
if ! "$PY" - "$ALLOW_CPU" <<'PYEOF'
import sys
import torch
if not torch.cuda.is_available():
    reason = ('torch is a CPU build' if torch.version.cuda is None else
              f'torch {torch.__version__} (CUDA {torch.version.cuda}) sees no usable GPU: check nvidia-smi, the driver '
              'and CUDA_VISIBLE_DEVICES')
    if sys.argv[1] != '1':
        sys.exit(f'[gpu_check] no CUDA GPU: {reason}. This check needs one (--allow-cpu runs it on the CPU, '
                 'for testing the script)')
    print(f'[gpu_check] no CUDA GPU ({reason}); --allow-cpu: running on the CPU, fp32 only')
PYEOF
then
  exit 3
fi
"$PY" - <<'PYEOF'
import mmcv
import mmcv.ops.multi_scale_deform_attn as msda
import torch
from mmcv.ops import get_compiling_cuda_version

import avsseg.models  # noqa: F401  (selects the deformable-attention kernel, once per process)
gpu = (f'{torch.cuda.get_device_name(0)} ({torch.cuda.get_device_properties(0).total_memory / 1024**3:.0f} GiB)'
       if torch.cuda.is_available() else 'none')
ops = get_compiling_cuda_version()
print(f'[gpu_check] GPU: {gpu}; torch {torch.__version__} (CUDA {torch.version.cuda}); mmcv {mmcv.__version__} with '
      f'{"CUDA ops " + ops if ops not in ("", "not available") else "CPU ops"}; multi-scale deformable attention: '
      f'{"compiled CUDA kernel" if msda.IS_CUDA_AVAILABLE else "pure PyTorch"}')
PYEOF

# 2. Data: enough training clips for the benchmark's timed steps at batch 8 (its set lives in $WORK/data/s4).
DATA="$WORK/data/s4"
if [ ! -f "$DATA/synthetic_s4.json" ]; then
  log "generating a synthetic S4 set with Maskiges in $DATA"
  "$PY" tools/dataset_converters/synthetic_avsbench.py "$DATA" --subset s4 --num-videos 100 --maskige --overwrite
fi
ROOT="train_dataloader.dataset.data_root=$DATA val_dataloader.dataset.data_root=$DATA test_dataloader.dataset.data_root=$DATA"

# 3. Train and test each config in fp32 and AMP.
precisions=(fp32 amp)
[ "$ALLOW_CPU" = 1 ] && ! "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' && precisions=(fp32)
runs=()
mkdir -p "$WORK/configs"
for cfg in "${CONFIGS[@]}"; do
  # A short iteration-based run of the config (the TPAVI recipes train by epochs), checkpoint at the end without
  # the optimizer state; and the options that drop every pretrained file it names (random weights).
  short="$WORK/configs/$(basename "$cfg")"
  no_weights=$("$PY" - "$cfg" "$short" "$ITERS" <<'PYEOF'
import os.path as osp
import sys

from mmengine.config import Config

from avsseg.utils.weight_files import find_weight_files
cfg, short, iters = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(short, 'w') as f:
    f.write(f"""_base_ = [{osp.abspath(cfg)!r}]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={iters}, val_interval=1000000000)
default_hooks = dict(
    logger=dict(interval=1, log_metric_by_epoch=False),
    checkpoint=dict(_delete_=True, type='CheckpointHook', by_epoch=False, interval={iters}, save_optimizer=False))
log_processor = dict(by_epoch=False)
""")
print(' '.join(dict.fromkeys(f'{key}=None' for key, _ in find_weight_files(Config.fromfile(cfg).model))))
PYEOF
)
  for precision in "${precisions[@]}"; do
    name="$(basename "$cfg" .py)_$precision"
    work="$WORK/$name"
    rm -rf "$work" "$work-test"
    amp=()
    [ "$precision" = amp ] && amp=(--amp)
    log "training $name: $ITERS iterations at batch 8"
    # shellcheck disable=SC2086  # option lists are key=value words
    "$PY" tools/train.py "$short" --work-dir "$work" "${amp[@]}" --cfg-options $ROOT $no_weights total_batch_size=8
    ckpt="$work/$(basename "$(cat "$work/last_checkpoint")")"
    log "testing $name"
    # shellcheck disable=SC2086
    "$PY" tools/test.py "$short" "$ckpt" --work-dir "$work-test" --cfg-options $ROOT
    rm -f "$work"/*.pth  # full-size checkpoints are large; the logs stay
    runs+=("$name=$work")
  done
done

# 4. Summary of the runs, then the benchmark rows.
"$PY" - "${runs[@]}" <<'PYEOF'
import glob
import json
import os
import sys

print('\n[gpu_check] runs (time per iteration and data time averaged over the logged iterations after the first)')
print(f'{"run":<28}{"s/iter":>8}{"data s":>8}{"GPU MiB":>9}{"loss":>9}{"test mJ":>9}')
for run in sys.argv[1:]:
    name, work = run.split('=', 1)
    scalars = sorted(glob.glob(os.path.join(work, '*', 'vis_data', 'scalars.json')))
    rows = [json.loads(line) for line in open(scalars[-1])] if scalars else []
    train = [r for r in rows if 'loss' in r]  # training iterations (validation rows have no loss)
    steps = train[1:] or train
    mean = lambda key: sum(r[key] for r in steps) / len(steps) if steps and key in steps[0] else float('nan')
    loss = steps[-1]['loss'] if steps and 'loss' in steps[-1] else float('nan')
    logs = sorted(glob.glob(os.path.join(work + '-test', '*', '*.json')))
    m_j = json.loads(open(logs[-1]).read().strip().splitlines()[-1]).get('mJ', float('nan')) if logs else float('nan')
    print(f'{name:<28}{mean("time"):>8.3f}{mean("data_time"):>8.3f}{mean("memory"):>9.0f}{loss:>9.3f}{m_j:>9.3f}')
PYEOF
bench_precisions=(fp32 amp)
[ "${#precisions[@]}" = 1 ] && bench_precisions=(fp32)
log "benchmark rows (batch 8)"
"$PY" tools/analysis_tools/benchmark.py --all --configs "${CONFIGS[@]}" --precision "${bench_precisions[@]}" \
  --batch-size 8 --iters 3 --warmup 2 --infer-iters 2 --data-dir "$WORK/data" --json "$WORK/benchmark.json"
log "passed ($WORK)"
