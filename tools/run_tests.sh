#!/usr/bin/env bash
# README's test command: sets the environment up if needed (idempotent), checks the lint baseline
# (tools/lint.sh: flake8 + isort, settings in setup.cfg), then runs the unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
PYTHON=${PYTHON:-python}
PYTHON="$PYTHON" bash tools/lint.sh
exec "$PYTHON" -m pytest tests -q -p no:cacheprovider --timeout=900 "$@"
