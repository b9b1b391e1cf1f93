#!/usr/bin/env bash
# The whole test suite, in order of speed. Called by `make test` after set-up and training.
set -euo pipefail
cd "$(dirname "$0")/.."
APP=.venv-app/bin/python
BOT=.venv-bot/bin
export PYTHONPATH="$PWD:$PWD/bot" HF_HUB_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=2

step() { printf '\n== %s\n' "$*"; }

step "lint (ruff)"
$APP -m ruff check .

step "Rasa data validation"
(cd bot && ../$BOT/rasa data validate --fail-on-warnings --config config.yml --domain domain.yml --data data)

step "Rasa-side unit tests (bot venv: NLU components, actions)"
$BOT/python -m pytest -q -p no:cacheprovider tests/bot

step "backend, knowledge and end-to-end tests (app venv; SQLite and PostgreSQL)"
$APP -m pytest -q tests --ignore=tests/bot
