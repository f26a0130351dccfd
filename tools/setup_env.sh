#!/usr/bin/env bash
# Sets up the current Python environment for avsseg. Idempotent: a second run only checks versions.
#
#   bash tools/setup_env.sh                  # mmcv with CUDA ops where a GPU and a matching nvcc exist, else CPU ops
#   bash tools/setup_env.sh --print-plan     # say which mmcv build this machine gets, install nothing
#   FORCE_CUDA=1 bash tools/setup_env.sh     # require mmcv's CUDA ops (fails with the reason when impossible)
#   FORCE_CUDA=0 bash tools/setup_env.sh     # CPU ops even on a GPU machine
#
# The mmcv decision (GPU, torch's CUDA, nvcc) is tools/setup_env_plan.py. With CPU ops on a GPU machine, avsseg
# runs mmcv's pure-PyTorch multi-scale deformable attention (avsseg/utils/deform_attn.py).
# PYTHON selects the interpreter (default: python). AVSSEG_CACHE (default ~/.cache/avsseg) holds the mmcv
# wheel, keyed by mmcv version, torch version, CPU or CUDA flavour (CUDA version and GPU architectures) and Python
# tag, so a torch change rebuilds and a CPU and a CUDA build never share a wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
CACHE=${AVSSEG_CACHE:-$HOME/.cache/avsseg}
MMCV_VERSION=2.1.0
log() { echo "[setup_env] $*"; }

case "${1:-}" in
  '') ;;
  --print-plan) exec "$PY" tools/setup_env_plan.py --mmcv-version "$MMCV_VERSION" ;;
  *) echo "usage: bash tools/setup_env.sh [--print-plan]" >&2; exit 2 ;;
esac

installed() {  # installed NAME VERSION -> 0 when that exact version is importable metadata-wise
  "$PY" - "$1" "$2" <<'PYEOF'
import sys
from importlib import metadata
try:
    sys.exit(0 if metadata.version(sys.argv[1]) == sys.argv[2] else 1)
except metadata.PackageNotFoundError:
    sys.exit(1)
PYEOF
}

# 1. torch trio, pinned.
need_torch=0
while read -r spec; do
  case "$spec" in ''|'#'*) continue;; esac
  installed "${spec%%==*}" "${spec##*==}" || need_torch=1
done < requirements/torch.txt
if [ "$need_torch" = 1 ]; then
  log "installing torch trio"
  "$PY" -m pip install -q -r requirements/torch.txt
fi

# 2. build requirements (setuptools<82 also keeps mmengine's pkg_resources import working).
"$PY" -c "import setuptools, wheel, ninja, psutil, sys; sys.exit(int(setuptools.__version__.split('.')[0]) >= 82)" 2>/dev/null \
  || "$PY" -m pip install -q -r requirements/build.txt

# Every later pip call is constrained to the installed torch trio, so no resolver step can swap it.
# Local version labels (+cu130) are dropped: '==2.11.0' matches the installed 2.11.0+cu130.
cons=$(mktemp)
trap 'rm -f "$cons"' EXIT
"$PY" - "$MMCV_VERSION" > "$cons" <<'PYEOF'
import sys
from importlib import metadata
for name in ('torch', 'torchvision', 'torchaudio'):
    print(f"{name}=={metadata.version(name).split('+')[0]}")
print(f'mmcv=={sys.argv[1]}')
PYEOF

# 3. mmcv with compiled ops, built against this torch (CUDA ops where this machine can build them) and cached
# under a key of torch version, CPU/CUDA flavour and Python tag.
plan=$("$PY" tools/setup_env_plan.py --shell --mmcv-version "$MMCV_VERSION") || exit 1
eval "$plan"  # MMCV_OPS, MMCV_KEY, MMCV_BUILD_ENV, MMCV_REASON, MMCV_NOTES, MMCV_CPU_KEY, MMCV_CPU_BUILD_ENV
mmcv_ok() {  # mmcv_ok cpu|cuda -> 0 when mmcv $MMCV_VERSION imports with compiled ops (CUDA ones for cuda)
  "$PY" - "$MMCV_VERSION" "$1" >/dev/null 2>&1 <<'PYEOF'
import sys
import mmcv
from mmcv.ops import get_compiling_cuda_version
assert mmcv.__version__ == sys.argv[1]
assert sys.argv[2] != 'cuda' or get_compiling_cuda_version() not in ('', 'not available')
PYEOF
}
build_mmcv() {  # build_mmcv OPS KEY BUILD_ENV -> installs the cached or freshly built wheel; 1 when the build fails
  local ops=$1 dir="$CACHE/$2" build_env=$3 whl tmp start
  whl=$(ls "$dir"/mmcv-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$whl" ]; then
    if [ "$ops" = cuda ]; then
      log "building mmcv $MMCV_VERSION with CUDA ops ($2; takes longer than the CPU build; cached in $dir)"
    else
      log "building mmcv $MMCV_VERSION with CPU ops ($2; about 15 min on 2 cores; cached in $dir)"
    fi
    mkdir -p "$dir"
    tmp=$(mktemp -d)
    start=$(date +%s)
    # shellcheck disable=SC2086  # build_env is NAME=value words
    if ! env $build_env MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "$PY" -m pip wheel --no-build-isolation \
        --no-deps --no-cache-dir -w "$tmp" "mmcv==$MMCV_VERSION" 2>&1 | tee "$dir/build.log"; then
      rm -rf "$tmp"
      return 1
    fi
    mv "$tmp"/mmcv-*.whl "$dir"/
    rm -rf "$tmp"
    log "built mmcv with $ops ops in $(( ($(date +%s) - start + 59) / 60 )) min"
    whl=$(ls "$dir"/mmcv-*.whl | head -n1)
  else
    log "using cached mmcv wheel $whl"
  fi
  "$PY" -m pip uninstall -q -y mmcv mmcv-lite >/dev/null 2>&1 || true
  "$PY" -m pip install -q --no-deps --force-reinstall "$whl"
}
log "mmcv ops: $MMCV_OPS ($MMCV_REASON)"
if [ -n "$MMCV_NOTES" ]; then log "note: $MMCV_NOTES"; fi
failed_mark="$CACHE/$MMCV_KEY/build-failed"
if [ "$MMCV_OPS" = cuda ] && [ "${FORCE_CUDA:-}" != 1 ] && [ -f "$failed_mark" ]; then
  # Not again on every run (quickstart.sh and run_tests.sh call this script each time).
  log "the CUDA build of mmcv failed before ($CACHE/$MMCV_KEY/build.log): CPU ops; delete $failed_mark to retry"
  MMCV_OPS=cpu MMCV_KEY=$MMCV_CPU_KEY MMCV_BUILD_ENV=$MMCV_CPU_BUILD_ENV
fi
if ! mmcv_ok "$MMCV_OPS"; then
  if ! build_mmcv "$MMCV_OPS" "$MMCV_KEY" "$MMCV_BUILD_ENV"; then
    if [ "$MMCV_OPS" = cuda ] && [ "${FORCE_CUDA:-}" != 1 ]; then
      # A working install first: CPU ops, and the models take the pure-PyTorch deformable attention on the GPU.
      touch "$failed_mark"
      log "the CUDA build of mmcv failed (log: $CACHE/$MMCV_KEY/build.log); building CPU ops instead, avsseg then" \
        "runs mmcv's pure-PyTorch multi-scale deformable attention on the GPU (FORCE_CUDA=1 makes this fatal)"
      MMCV_OPS=cpu MMCV_KEY=$MMCV_CPU_KEY
      build_mmcv cpu "$MMCV_KEY" "$MMCV_CPU_BUILD_ENV" \
        || { echo "[setup_env] the CPU build of mmcv $MMCV_VERSION failed too (output above)" >&2; exit 1; }
    else
      echo "[setup_env] building mmcv $MMCV_VERSION with $MMCV_OPS ops failed (log: $CACHE/$MMCV_KEY/build.log)" >&2
      exit 1
    fi
  fi
  # mmcv's own runtime deps without letting pip touch torch: `import mmcv` needs mmengine and cv2 (a clean
  # machine has neither; the headless OpenCV of requirements/runtime.txt provides cv2).
  "$PY" -m pip install -q -c "$cons" addict packaging pyyaml yapf \
    "$(grep -E '^mmengine==' requirements/openmmlab.txt)" opencv-python-headless
  mmcv_ok "$MMCV_OPS" || {
    echo "[setup_env] mmcv $MMCV_VERSION with $MMCV_OPS ops does not import; remove $CACHE/$MMCV_KEY and rerun" >&2
    exit 1
  }
fi

# 4. OpenMMLab packages and the rest.
if ! "$PY" - requirements/openmmlab.txt requirements/runtime.txt requirements/tests.txt <<'PYEOF'
# Exit 0 when every requirement line is already satisfied, so a second run does not touch pip.
import sys
from importlib import metadata
from packaging.requirements import Requirement
for path in sys.argv[1:]:
    for line in open(path):
        line = line.split('#')[0].strip()
        if not line:
            continue
        req = Requirement(line)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            sys.exit(1)
        if not req.specifier.contains(version, prereleases=True):
            sys.exit(1)
PYEOF
then
  log "installing OpenMMLab and runtime requirements"
  "$PY" -m pip install -q -c "$cons" -r requirements/openmmlab.txt -r requirements/runtime.txt -r requirements/tests.txt
fi

# 5. avsseg itself, editable.
# Checked from / : in the repository root `import avsseg` finds the source tree without any install.
installed_at() { (cd / && "$PY" -c 'import avsseg, os; print(os.path.realpath(os.path.dirname(avsseg.__file__)))' 2>/dev/null); }
current=$(installed_at || true)
if [ "$current" != "$(realpath avsseg)" ]; then
  if [ -n "$current" ]; then
    # Another checkout was the install: scripts and `avsseg::` config bases follow the new one from now on, while
    # each checkout's tools/ keep running their own code (they put their repository root first on sys.path).
    log "avsseg is installed from $(dirname "$current"); re-pointing the editable install to $(pwd)"
  fi
  "$PY" -m pip install -q --no-deps --no-build-isolation -e .
fi
"$PY" -c "import mmseg.models, mmdet.models, avsseg; print('[setup_env] ok: avsseg', avsseg.__version__)"
