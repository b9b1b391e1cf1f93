#!/usr/bin/env bash
# The whole test suite, fastest first. Called by `make test` after set-up and training (`make model`).
set -euo pipefail
cd "$(dirname "$0")/.."
APP=.venv-app/bin/python
BOT=.venv-bot/bin
export PYTHONPATH="$PWD:$PWD/bot" HF_HUB_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=2
ENCODER_DIR=$($APP -m scripts.train_bot --encoder-dir | tail -n 1)
REPORTS=var/rasa-test
started=$SECONDS

step() { printf '\n== %s (%d s so far)\n' "$*" $((SECONDS - started)); }

step "lint (ruff)"
$APP -m ruff check .

step "Rasa data validation"
(cd bot && ../$BOT/rasa data validate --fail-on-warnings --config config.yml --domain domain.yml --data data)

step "Rasa-side unit tests (bot venv: NLU components, actions)"
SUPPORTDESK_ENCODER_DIR=$ENCODER_DIR $BOT/python -m pytest -q -p no:cacheprovider --confcutdir=tests/bot tests/bot

step "rasa test core: every flow's test stories against the trained model"
rm -rf "$REPORTS" && mkdir -p "$REPORTS"
(cd bot && ../$BOT/rasa test core --model ../var/models/current.tar.gz --stories tests \
  --out "../$REPORTS/core" --fail-on-prediction-errors --no-plot)

step "rasa test nlu: 5-fold cross-validation of the pipeline on the project's own data"
(cd bot && SUPPORTDESK_ENCODER_DIR=$ENCODER_DIR SUPPORTDESK_ENCODER_THREADS=0 ../$BOT/rasa test nlu --config config.yml --nlu data/nlu \
  --cross-validation --folds 5 --out "../$REPORTS/nlu" --no-plot >"../$REPORTS/nlu.log" 2>&1) \
  || { tail -n 40 "$REPORTS/nlu.log"; exit 1; }
$APP -m scripts.check_nlu_report "$REPORTS/nlu" --min-macro-f1 0.90

step "backend, knowledge, risk, end-to-end and browser tests (app venv; SQLite and PostgreSQL)"
$APP -m pytest -q tests --ignore=tests/bot

step "done"
