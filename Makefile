# The two commands of the README are `make run` and `make test`; both set up everything they need first.
SHELL := bash
.DEFAULT_GOAL := help
APP := .venv-app/bin/python
BOT := .venv-bot/bin

.PHONY: help setup encoder model run run-scaled test test-fast lint bench chaos eval-nlu eval-sentiment eval-kb adapt-kb eval-risk eval-pii eval-oos eval-decisions train-churn train-escalation train-handoff validate-k8s image-models images

help:
	@echo "make run   set up, train if needed, start backend + Rasa + action server, print the URLs"
	@echo "make test  set up, train if needed, run every test (SQLite and PostgreSQL, end to end)"
	@echo "make test-fast  the inner loop: ruff + unit and integration tests on SQLite (no browser, no Rasa process)"
	@echo "make run-scaled  the scaled-out topology without Docker: 2 Rasa replicas, 2 backend workers, PostgreSQL, Redis, RabbitMQ"
	@echo "make bench       load test (10/50/200 customers), the steady interleaved full-vs-bare run, knowledge search, risk scoring"
	@echo "make bench-locust  Locust against a private stack, cross-checked with the bench (ARGS='--customers 50')"
	@echo "make bench-floor   what a WebSocket relay to Rasa alone costs per turn, beside the full stack and bare Rasa"
	@echo "make chaos       kill Rasa, the action server, a backend worker, restart PostgreSQL under load; prints what was lost"
	@echo "make eval-nlu    Banking77 accuracy of bot/config.yml's pipeline"
	@echo "make eval-oos    out-of-scope detection: Banking77 held-out classes (60 in / 17 out) and the bot's own data"
	@echo "make eval-decisions  hand-off decisions, in-domain sentiment and shop KB answers on the labelled test conversations"
	@echo "make eval-sentiment | eval-kb | eval-risk | eval-pii | lint"
	@echo "make eval-assist  suggested replies on hand-labelled hand-off situations (ml/data/assist_eval.yml), vs BM25 and a fixed list; hand-off briefs' support rate on the seeded history"
	@echo "make validate-k8s  render the Kubernetes overlays, check them with kubernetes-validate and checkov"
	@echo "make image-models  stage the models the images carry as real files in var/image-models/ (not cache links)"
	@echo "make images      image-models, then docker build the backend, bot and Rasa images (TAG=latest; needs Docker)"
	@echo "make adapt-kb ARGS='PAIRS.jsonl'  fine-tune the KB encoder on (question, passage) pairs; use it with KB_ENCODER_DIR"
	@echo "make train-churn ARGS='--csv FILE --target COLUMN [--id COLUMN] [--promote]'  (or --from-db)"
	@echo "make train-escalation ARGS=--from-decisions  hand-off policy from the decision log's labels (gated; min DECISION_MIN_LABELS)"
	@echo "make train-handoff [ARGS='--dry-run']  the same: fit on logged labels, compare on the held-out newest quarter, promote or refuse (registry, audited)"
	@echo "make clv         customer lifetime values (survival-based) into customer_values"
	@echo "make eval-uplift uplift model vs churn-risk and random targeting on the seeded simulation (simulated outcomes)"
	@echo "make eval-loop   hand-off policy retrained weekly from feedback, scored on the next week (simulated feedback)"
	@echo "make train-uplift ARGS=--from-decisions  the uplift model on the retention experiment's logged outcomes"
	@echo "make eval-leads  lead conversion model vs rules-only score (PR-AUC, precision@k) on the simulated lead history"
	@echo "make train-leads the same, and write the served lead model (LEAD_MODEL_PATH; trained on simulated outcomes)"

setup:
	@bash scripts/bootstrap.sh

encoder: setup
	@$(APP) -m scripts.train_bot --encoder-dir

model: setup
	@$(APP) -m scripts.train_bot
	@PYTHONPATH=. $(APP) -m ml.handoff build

run: model
	@$(APP) -m scripts.stack run

run-scaled: model
	@HF_HUB_OFFLINE=1 $(APP) -m scripts.scaled run

test: model
	@bash scripts/test.sh

# No model needed: nothing here starts Rasa (tests/README.md).
test-fast: setup
	@bash scripts/test_fast.sh

lint: setup
	@$(APP) -m ruff check .

# Needs only the tools venv (scripts/validate_k8s.sh builds it), not the app or bot venvs.
validate-k8s:
	@bash scripts/validate_k8s.sh

# var/models holds links into the model cache, outside Docker's build context: the images COPY these files.
image-models: model
	@$(APP) -m scripts.image_models

# The images docker-compose.yml and the Kubernetes manifests run (README "Kubernetes" pushes them).
TAG ?= latest
images: image-models
	docker build -f docker/app.Dockerfile -t supportdesk-backend:$(TAG) .
	docker build -f docker/bot.Dockerfile --target bot -t supportdesk-bot:$(TAG) .
	docker build -f docker/kubernetes/rasa.Dockerfile --build-arg BOT_IMAGE=supportdesk-bot:$(TAG) \
	  -t supportdesk-rasa:$(TAG) .

eval-nlu: setup
	@PYTHONPATH=. SUPPORTDESK_ENCODER_THREADS=0 SUPPORTDESK_ENCODER_DIR=$$($(APP) -m scripts.train_bot --encoder-dir | tail -n 1) $(BOT)/python scripts/eval_nlu.py

eval-oos: setup
	@PYTHONPATH=. SUPPORTDESK_ENCODER_THREADS=0 SUPPORTDESK_ENCODER_DIR=$$($(APP) -m scripts.train_bot --encoder-dir | tail -n 1) $(BOT)/python scripts/eval_oos.py

eval-sentiment: setup
	@PYTHONPATH=. SUPPORTDESK_ENCODER_THREADS=0 SUPPORTDESK_ENCODER_DIR=$$($(APP) -m scripts.train_bot --encoder-dir | tail -n 1) $(BOT)/python scripts/eval_sentiment.py

eval-kb: setup
	@HF_HUB_OFFLINE=1 $(APP) -m scripts.eval_kb

adapt-kb: setup
	@HF_HUB_OFFLINE=1 $(APP) -m knowledge.adapt $(ARGS)

eval-decisions: model
	@PYTHONPATH=. HF_HUB_OFFLINE=1 $(APP) -m scripts.eval_decisions $(ARGS)

eval-risk: setup
	@$(APP) -m scripts.eval_risk

eval-pii: setup
	@$(APP) -m scripts.eval_pii

.PHONY: eval-assist
eval-assist: setup
	@HF_HUB_OFFLINE=1 $(APP) -m ml.eval_assist $(ARGS)

bench: model
	@HF_HUB_OFFLINE=1 $(APP) -m scripts.bench

# Locust (its own venv, built on first use) against a private stack, cross-checked with the bench's figures.
.PHONY: bench-locust
bench-locust: model
	@bash scripts/bootstrap.sh locust
	@HF_HUB_OFFLINE=1 $(APP) -m scripts.bench_locust $(ARGS)

# The floor under the backend's CPU per turn: a bare WebSocket relay to Rasa beside the full stack and bare Rasa.
.PHONY: bench-floor
bench-floor: model
	@HF_HUB_OFFLINE=1 $(APP) -m scripts.bench_floor $(ARGS)

chaos: model
	@HF_HUB_OFFLINE=1 $(APP) -m scripts.chaos

train-churn: setup
	@$(APP) -m ml.risk.train_churn $(ARGS)

train-escalation: setup
	@PYTHONPATH=. $(APP) -m ml.decision_labels $(ARGS)

# The hand-off policy's champion-challenger: a policy fitted from the decision log replaces the served one only
# when its held-out F1 lift has a 95 % bootstrap interval above 0 (ml/decision_labels.py, ml/handoff_promotion.py).
train-handoff: setup
	@PYTHONPATH=. $(APP) -m ml.decision_labels --from-decisions $(ARGS)

.PHONY: clv eval-uplift train-uplift
clv: setup
	@PYTHONPATH=. $(APP) -m ml.clv $(ARGS)

eval-uplift: setup
	@PYTHONPATH=. $(APP) -m ml.uplift $(ARGS)

train-uplift: setup
	@PYTHONPATH=. $(APP) -m ml.uplift $(ARGS)

# Sales leads (issue 18): the conversion model against the rules-only score on the SIMULATED lead history,
# split by buyer, chosen on dev, reported on test (ml/leads.py); train-leads also writes LEAD_MODEL_PATH.
.PHONY: eval-leads train-leads
eval-leads: setup
	@PYTHONPATH=. $(APP) -m ml.leads $(ARGS)

train-leads: setup
	@PYTHONPATH=. $(APP) -m ml.leads --save $(ARGS)

# The learning loop replayed on the dev conversations with SIMULATED feedback (rule-written labels): the
# hand-off policy retrained each week from the labels so far, scored on the next week (ml/eval_loop.py).
.PHONY: eval-loop
eval-loop: model
	@PYTHONPATH=. HF_HUB_OFFLINE=1 $(APP) -m ml.eval_loop --seeds 20 $(ARGS)
