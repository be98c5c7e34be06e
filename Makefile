# 家居金融语音助手 — one command each for setup, demo, test, lint, bench. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

APP    := .venvs/app
ENGINE := .venvs/engine
UV     := $(APP)/bin/uv
PY     := $(APP)/bin/python
BOT    := $(APP)/bin/bot
UV_VERSION := 0.13.9

.PHONY: help setup system-deps lock nlu train seed demo up test test-scale lint bench soak eval-nlu stories-check clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: system-deps $(APP)/.synced $(ENGINE)/.synced ## Create both environments from the locks (+ system packages)

system-deps: ## Install missing Debian packages (espeak-ng, sox); sudo only when not root
	@scripts/system-deps

$(APP)/.synced: requirements/app.lock.txt pyproject.toml
	@test -x $(PY) || $$(scripts/find-python 3.11) -m venv $(APP)
	@test -x $(UV) || { $(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip -q; $(PY) -m pip install -q "uv==$(UV_VERSION)"; }
	$(UV) pip sync -q --python $(PY) requirements/app.lock.txt
	$(UV) pip install -q --python $(PY) --no-deps -e .
	@touch $@

$(ENGINE)/.synced: requirements/engine.lock.txt | $(APP)/.synced
	@test -x $(ENGINE)/bin/python || $(UV) venv -q -p "$$(scripts/find-python 3.10)" $(ENGINE)
	$(UV) pip sync -q --python $(ENGINE)/bin/python requirements/engine.lock.txt
	@touch $@

lock: $(APP)/.synced ## Re-resolve both lock files from requirements/*.in
	$(UV) pip compile -q requirements/app.in --python-version 3.11 -o requirements/app.lock.txt
	$(UV) pip compile -q requirements/engine.in --python-version 3.10 -o requirements/engine.lock.txt

SPACY_ZH := models/spacy-zh

nlu: $(SPACY_ZH)/meta.json ## Build the spaCy zh pipeline (jieba + catalog words + entity ruler) into models/

$(SPACY_ZH)/meta.json: data/lexicon/userdict.txt data/lexicon/patterns.jsonl bot/nlu/build.py bot/nlu/spacy_zh.py | $(ENGINE)/.synced
	$(ENGINE)/bin/python -m bot.nlu.build --out $(SPACY_ZH)

train: setup nlu ## Train the Rasa model (only when config, domain or data changed)
	$(BOT) train

demo seed: export BOT_DEMO = true
seed: $(APP)/.synced ## Create the demo tenant, households, devices and tokens (idempotent; demo mode)
	$(BOT) seed --demo

demo: setup seed train ## Run the whole assistant in demo mode, with the demo partner simulator, in the foreground (Ctrl-C stops it)
	$(BOT) up

up: ## Start the stack without setup/seed/train
	$(BOT) up

test: setup nlu ## Run every test (unit, Rasa data validation, end-to-end through the real stack)
	$(PY) -m pytest

test-scale: setup nlu ## Production profile and fault tests against PostgreSQL, Redis, RabbitMQ, Mosquitto
	$(PY) -m pytest -m scale

lint: $(APP)/.synced ## ruff (lint + format check) and mypy
	$(APP)/bin/ruff check bot actions tests bench
	$(APP)/bin/ruff format --check bot actions tests bench
	$(APP)/bin/mypy bot actions

stories-check: setup nlu ## Designer report: rasa data validate, conversation tests, unused intents/responses
	$(PY) -m bot.rasa.stories_check

bench: setup train ## Run the benchmarks → bench/results.json and bench/RESULTS.md
	$(PY) -m bench

soak: setup train ## 30 minutes of load from 50 households; memory sampled → bench/results.json
	$(PY) -m bench load --soak 1800

eval-nlu: setup train ## Held-out NLU scores and parse latency on a real stack → bench/results.json
	$(PY) -m bench nlu

clean: ## Remove environments, trained models and runtime state
	rm -rf .venvs var models/*.tar.gz models/spacy-zh .rasa
