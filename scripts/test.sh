#!/usr/bin/env bash
# Set up everything the tests need (Python packages, Debian's Chromium) and run every test.
#   scripts/test.sh --quick [PYTEST ARGS]   the loop of work: the linter, then every module's tests but those that
#                                           drive Chromium, train, build a venv, start Ray, load a server or are slow
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=()
if [ "${1:-}" = "--quick" ]; then
  shift
  QUICK=(-m "not (browser or training or venv or ray or load or slow)")
elif ! command -v chromium >/dev/null; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium chromium-driver
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -r requirements-test.txt
if [ ${#QUICK[@]} -gt 0 ]; then
  .venv/bin/ruff check .
fi
exec .venv/bin/python -m pytest "${QUICK[@]}" "$@"
