#!/usr/bin/env bash
# Sets up the current Python environment for avsseg. Idempotent: a second run only checks versions.
#
#   bash tools/setup_env.sh            # CPU ops for mmcv
#   FORCE_CUDA=1 bash tools/setup_env.sh   # also compile mmcv's CUDA ops (needs nvcc)
#
# PYTHON selects the interpreter (default: python). AVSSEG_CACHE (default ~/.cache/avsseg) holds the mmcv
# wheel, keyed by mmcv version, torch version, CUDA flavour and Python tag so a torch change rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
CACHE=${AVSSEG_CACHE:-$HOME/.cache/avsseg}
MMCV_VERSION=2.1.0
log() { echo "[setup_env] $*"; }

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

# 3. mmcv with compiled ops, built against this torch and cached under a torch-keyed name.
mmcv_ok() {
  "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" >/dev/null 2>&1
}
if ! mmcv_ok; then
  key=$("$PY" - <<'PYEOF'
import sys, torch
cuda = torch.version.cuda if (torch.version.cuda and __import__('os').environ.get('FORCE_CUDA') == '1') else 'cpu'
print(f"torch{torch.__version__.split('+')[0]}-{cuda}-cp{sys.version_info.major}{sys.version_info.minor}")
PYEOF
)
  dir="$CACHE/mmcv-$MMCV_VERSION-$key"
  whl=$(ls "$dir"/mmcv-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$whl" ]; then
    log "building mmcv $MMCV_VERSION for $key (about 15 min on 2 cores; cached in $dir)"
    mkdir -p "$dir"
    tmp=$(mktemp -d)
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "$PY" -m pip wheel --no-build-isolation --no-deps \
      --no-cache-dir -w "$tmp" "mmcv==$MMCV_VERSION"
    mv "$tmp"/mmcv-*.whl "$dir"/
    rm -rf "$tmp"
    whl=$(ls "$dir"/mmcv-*.whl | head -n1)
  else
    log "using cached mmcv wheel $whl"
  fi
  "$PY" -m pip uninstall -q -y mmcv mmcv-lite >/dev/null 2>&1 || true
  "$PY" -m pip install -q --no-deps --force-reinstall "$whl"
  # mmcv's own runtime deps without letting pip touch torch: `import mmcv` needs mmengine and cv2 (a clean
  # machine has neither; the headless OpenCV of requirements/runtime.txt provides cv2).
  "$PY" -m pip install -q -c "$cons" addict packaging pyyaml yapf \
    "$(grep -E '^mmengine==' requirements/openmmlab.txt)" opencv-python-headless
  mmcv_ok || { echo "[setup_env] mmcv $MMCV_VERSION with ops does not import; remove $dir and rerun" >&2; exit 1; }
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
if [ "$(installed_at)" != "$(realpath avsseg)" ]; then
  "$PY" -m pip install -q --no-deps --no-build-isolation -e .
fi
"$PY" -c "import mmseg.models, mmdet.models, avsseg; print('[setup_env] ok: avsseg', avsseg.__version__)"
