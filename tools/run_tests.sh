#!/usr/bin/env bash
# README's test command: sets the environment up if needed (idempotent), then runs the unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
PYTHON=${PYTHON:-python}
exec "$PYTHON" -m pytest tests -q -p no:cacheprovider --timeout=900 "$@"
