# skewless: `make help` lists the targets. Every target installs what it needs first
# (idempotent: a second run reuses .venv and the cached connector jars).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help preflight install demo test test-unit lint bench bench-latency bench-updates bench-models clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

preflight: ## check Python 3.11 and a JDK 11/17 with a one-line error each
	@[ -n "$(PYTHON)" ] || { echo "error: no python3 found: install Python 3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "error: skewless needs Python 3.11 (found $$($(PYTHON) -V 2>&1)): install python3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	@command -v java >/dev/null 2>&1 || [ -x "$$JAVA_HOME/bin/java" ] || { echo "error: Java not found: install a JDK 11 or 17 (e.g. apt-get install openjdk-17-jdk-headless) and put java on PATH"; exit 1; }
	@command -v javac >/dev/null 2>&1 || [ -x "$$JAVA_HOME/bin/javac" ] || { echo "error: javac not found: the feature engine is compiled at install; install a JDK, not only a JRE (e.g. apt-get install openjdk-17-jdk-headless)"; exit 1; }

$(STAMP): pyproject.toml | preflight
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/python -c "from skewless.flink.connectors import kafka_connector_jars; print('connector jars:', kafka_connector_jars()[0].parent)"
	$(BIN)/python -c "from jobs.engine_jar import engine_jar; print('feature engine:', engine_jar())"
	@touch $(STAMP)

install: preflight $(STAMP) ## create .venv with skewless, fetch Flink's Kafka connector, compile the feature engine

demo: install ## install, then run the whole loop on the embedded stack
	$(BIN)/skewless demo

test: install ## install, then run every test (unit + integration on the embedded stack)
	$(BIN)/pytest

test-unit: install ## only the fast tests (no broker, no Flink)
	$(BIN)/pytest -m "not integration"

bench: install ## backfill vs pandas (ROWS=1000000), stream latency (RATE=1000) and drains vs plain Python: one table, bench/results/
	$(BIN)/python -m bench.backfill_vs_pandas --rows $(or $(ROWS),1000000)
	$(BIN)/python -m bench.stream_latency --rate $(or $(RATE),1000)
	$(BIN)/python -m bench.summary --rows $(or $(ROWS),1000000) --rate $(or $(RATE),1000)

bench-latency: install ## stream only: arrival-to-score latency at RATE tx/s (1000) and backlog drains; writes bench/results/
	$(BIN)/python -m bench.stream_latency --rate $(or $(RATE),1000)

bench-updates: install ## label-to-live time and scoring around model updates (RATE=200); writes bench/results/
	$(BIN)/python -m bench.label_to_live --rate $(or $(RATE),200)

bench-models: install ## model quality: which catalogue features raise held-out AP, then features and train --search against today's model, three seeds; writes bench/results/
	$(BIN)/python -m bench.feature_catalogue
	$(BIN)/python -m bench.model_search --candidates $(or $(CANDIDATES),20)

lint: install ## ruff
	$(BIN)/ruff check .

clean: ## stop the embedded broker and remove data/ (keeps .venv)
	-[ -x $(BIN)/skewless ] && $(BIN)/skewless down
	rm -rf data
