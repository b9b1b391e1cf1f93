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

# A SIGTERM or Ctrl-C must stop the running step as well, not this script alone: bash runs a trap only once
# the foreground command has ended, and the Rasa, action-server and backend processes pytest starts sit in
# sessions of their own. So each step runs in the background as its own process group (set -m) while the
# script waits; the trap sends that group SIGTERM and waits for it (pytest then stops the processes it
# started: scripts/stack.py stop_on_signals), then exits.
set -m
step_pid=
interrupted() {
  if [[ -n $step_pid ]]; then
    kill -TERM -- "-$step_pid" 2>/dev/null || true
    wait "$step_pid" 2>/dev/null || true
  fi
  exit "$1"
}
trap 'interrupted 143' TERM
trap 'interrupted 130' INT
run() {
  "$@" &
  step_pid=$!
  local status=0
  wait "$step_pid" || status=$?
  step_pid=
  return "$status"
}

validate_data() {
  cd bot && ../$BOT/rasa data validate --fail-on-warnings --config config.yml --domain domain.yml --data data
}

test_core() {
  cd bot && ../$BOT/rasa test core --model ../var/models/current.tar.gz --stories tests \
    --out "../$REPORTS/core" --fail-on-prediction-errors --no-plot
}

# The cross-validation scores intents and entities. The sentiment component changes neither (it runs after
# the intent classifier, and the fallback reads only intent confidences), and training it on the airline
# tweets in each of five folds was most of the step's time, so the folds' pipeline leaves it out.
cv_config() {
  $BOT/python - "$REPORTS/cv-config.yml" <<'PY'
import sys
import yaml
config = yaml.safe_load(open("bot/config.yml"))
config["pipeline"] = [c for c in config["pipeline"] if c["name"] != "nlu.sentiment.SentimentAnalyzer"]
yaml.safe_dump(config, open(sys.argv[1], "w"), sort_keys=False)
PY
}

test_nlu() {
  cv_config
  (cd bot && SUPPORTDESK_ENCODER_DIR=$ENCODER_DIR SUPPORTDESK_ENCODER_THREADS=0 ../$BOT/rasa test nlu --config "../$REPORTS/cv-config.yml" --nlu data/nlu \
    --cross-validation --folds 5 --out "../$REPORTS/nlu" --no-plot >"../$REPORTS/nlu.log" 2>&1) \
    || { tail -n 40 "$REPORTS/nlu.log"; exit 1; }
}

step "lint (ruff)"
run $APP -m ruff check .

step "Kubernetes manifests: kustomize render, kubernetes-validate, checkov (tools venv)"
run bash scripts/validate_k8s.sh

step "Rasa data validation"
run validate_data

step "Rasa-side unit tests (bot venv: NLU components, actions)"
run env SUPPORTDESK_ENCODER_DIR="$ENCODER_DIR" $BOT/python -m pytest -q -p no:cacheprovider --confcutdir=tests/bot tests/bot

step "rasa test core: every flow's test stories against the trained model"
rm -rf "$REPORTS" && mkdir -p "$REPORTS"
run test_core

step "rasa test nlu: 5-fold cross-validation of the pipeline (intents, entities) on the project's own data"
run test_nlu
run $APP -m scripts.check_nlu_report "$REPORTS/nlu" --min-macro-f1 0.90

step "backend, knowledge, risk, end-to-end and browser tests (app venv; SQLite and PostgreSQL)"
run env KB_ENCODER_ONNX_DIR="$ENCODER_DIR" $APP -m pytest -q tests --ignore=tests/bot

step "done"
