#!/usr/bin/env bash
# Set up a serving-only environment (no TensorFlow) and start the app on http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv-app/bin/python ] || python3 -m venv .venv-app
.venv-app/bin/pip install -q -r requirements.txt
exec .venv-app/bin/python app.py --host 127.0.0.1 --port 7860 "$@"
