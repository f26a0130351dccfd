#!/usr/bin/env bash
# The project's lint baseline (settings in setup.cfg): flake8 (errors, style, line length 120) and isort (import
# order). Fix the import order with `python -m isort avsseg tools tests configs projects`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
"$PYTHON" -m flake8 avsseg tools tests configs projects setup.py
"$PYTHON" -m isort --check-only --diff avsseg tools tests configs projects setup.py
echo "[lint] ok"
