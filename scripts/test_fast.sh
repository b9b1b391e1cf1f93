#!/usr/bin/env bash
# The inner loop (`make test-fast`): ruff, then the app venv's unit and integration tests on SQLite. No browser,
# no Rasa or action-server process, no PostgreSQL run, nothing marked slow: `make test` (scripts/test.sh) runs
# all of those. Arguments go to pytest: `scripts/test_fast.sh tests/privacy -x`. Markers: tests/README.md.
# One pytest-xdist worker per core; all tests of a file run on the same worker (module fixtures built once);
# `-n 0` among the arguments runs it in one process (the last -n wins).
set -euo pipefail
cd "$(dirname "$0")/.."
APP=.venv-app/bin/python
export PYTHONPATH="$PWD" HF_HUB_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=2

$APP -m ruff check .
exec $APP -m pytest -q -p no:cacheprovider --ignore=tests/bot --ignore=tests/e2e --ignore=tests/browser \
  -m "(unit or integration) and not postgres and not slow" -n "$(nproc)" --dist loadfile "$@"
