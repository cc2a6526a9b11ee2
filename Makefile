# Set-up and everyday commands. `make run` and `make test` each do the whole set-up on a
# fresh Debian/Ubuntu machine: the virtualenv, this package, and the Redis binaries.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The test suite spreads over this many processes (CI has 2 cores; tests mostly wait on Redis).
TEST_WORKERS ?= 4

.PHONY: install redis-binaries run test test-unit lint bench readme clean

install: $(STAMP) redis-binaries

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# redis-server, redis-sentinel and redis-cli from apt when any is missing. Package scripts
# are kept from starting system-wide Redis services: the product starts its own processes.
redis-binaries:
	@if command -v redis-server >/dev/null && command -v redis-sentinel >/dev/null \
	    && command -v redis-cli >/dev/null; then :; else \
	  echo "installing redis-server, redis-sentinel and redis-tools from apt"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq \
	    -o Dpkg::Options::=--force-confold redis-server redis-sentinel redis-tools >/dev/null; \
	fi

run: install
	$(BIN)/mredis serve

test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

test-unit: install
	$(BIN)/pytest tests/unit

# mypy takes its files (src, tests, bench) and strict mode from [tool.mypy] in pyproject.toml.
lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# wrk drives the read benchmarks (bench/supervision.py).
bench: install
	@command -v wrk >/dev/null || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
	$(BIN)/python -m bench

# README's tables that are made from the code (tests/unit/test_settings_table.py fails when
# one has drifted).
readme: $(STAMP)
	$(BIN)/python -m managed_redis.settings_table --readme README.md
	$(BIN)/python -m managed_redis.services.rpc_table --readme README.md

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
