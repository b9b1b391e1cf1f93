# The two commands of the README are `make run` and `make test`; both set up everything they need first.
SHELL := bash
.DEFAULT_GOAL := help
APP := .venv-app/bin/python
BOT := .venv-bot/bin

.PHONY: help setup model run test lint eval-nlu eval-sentiment

help:
	@echo "make run   set up, train if needed, start backend + Rasa + action server, print the URLs"
	@echo "make test  set up, train if needed, run every test (SQLite and PostgreSQL, end to end)"
	@echo "make lint | eval-nlu | eval-sentiment"

setup:
	@bash scripts/bootstrap.sh

model: setup
	@$(APP) -m scripts.train_bot

run: model
	@$(APP) -m scripts.stack run

test: model
	@bash scripts/test.sh

lint: setup
	@$(APP) -m ruff check .

eval-nlu: model
	@PYTHONPATH=. SUPPORTDESK_ENCODER_DIR=$$(ls -d $${SUPPORTDESK_CACHE:-$$HOME/.cache/supportdesk}/encoder-* | head -n 1) $(BOT)/python scripts/eval_nlu.py

eval-sentiment: model
	@PYTHONPATH=. SUPPORTDESK_ENCODER_DIR=$$(ls -d $${SUPPORTDESK_CACHE:-$$HOME/.cache/supportdesk}/encoder-* | head -n 1) $(BOT)/python scripts/eval_sentiment.py
