# Two commands on a fresh machine:  `make quickstart`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CLAUDE_CODE_VERSION := 2.1.328
CLAUDE_DIR := .cache/claude-code
STAMP := $(VENV)/.hooklake-installed
TEST_STAMP := $(VENV)/.hooklake-test-installed

.PHONY: setup quickstart test test-deps clean

# The CPU build of torch must be installed before sentence-transformers, or pip pulls a CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $(STAMP)

# Test-only extras: Playwright, moto's S3 server, pyspark + sqlglot (the Spark engine's tests).
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[all,test]"
	touch $(TEST_STAMP)

setup: $(STAMP)

## Set up, then load your Claude Code history (or a demo dataset), learn, and open the dashboard.
quickstart: setup
	$(BIN)/hooklake quickstart

$(CLAUDE_DIR)/node_modules/.bin/claude:
	mkdir -p $(CLAUDE_DIR)
	npm install --silent --no-audit --no-fund --prefix $(CLAUDE_DIR) @anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION) \
		|| echo "npm unreachable: the end-to-end tests with the real Claude Code will be skipped"

test-deps: $(TEST_STAMP) $(CLAUDE_DIR)/node_modules/.bin/claude
	@command -v chromium >/dev/null 2>&1 || command -v /usr/bin/chromium >/dev/null 2>&1 || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium not installed: the browser test will be skipped"
	@command -v java >/dev/null 2>&1 || \
		{ [ "$$(id -u)" = 0 ] && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; } || \
		echo "java not installed: the Spark tests will be skipped"

## Run the whole test suite (unit, integration, real Claude Code end-to-end, real browser).
test: test-deps
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .cache .pytest_cache
