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
# Compiled bytecode and pytest's assertion-rewritten test modules, kept between runs in the cache directory
# (not in the tree): otherwise each run and each xdist worker compiles the project and rewrites every test
# module again, as PYTHONDONTWRITEBYTECODE (set in some environments) asks. Python checks each cached file
# against its source's modification time and size. Copies of the tree that tests make under /tmp would only
# pile up there, so they are dropped.
export PYTHONPYCACHEPREFIX="${SUPPORTDESK_CACHE:-$HOME/.cache/supportdesk}/pycache"
unset PYTHONDONTWRITEBYTECODE
rm -rf "$PYTHONPYCACHEPREFIX/tmp"

$APP -m ruff check .
exec $APP -m pytest -q -p no:cacheprovider --ignore=tests/bot --ignore=tests/e2e --ignore=tests/browser \
  -m "(unit or integration) and not postgres and not slow" -n "$(nproc)" --dist loadfile "$@"
