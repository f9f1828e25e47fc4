# evplan — two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   runs the main job on the shipped Shanwei data and writes out/
#   make test   runs the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= out

.PHONY: demo test test-slow test-deps bench soak fuzz serve clean help

help:
	@echo "make demo   - install into .venv and run the main job on the shipped Shanwei data (writes $(OUT)/)"
	@echo "make test   - install into .venv with the dev and bench extras (and Chromium and a CJK font from Debian"
	@echo "              when run as root or with passwordless sudo) and run the whole test suite"
	@echo "make bench  - run the benchmarks in bench/ (prints a table, writes bench/results.json)"
	@echo "make soak   - a few minutes of mixed load on a loopback evplan serve: errors, p50/p99, rows lost"
	@echo "make fuzz   - schemathesis with every check for 90 s against a loopback evplan serve"
	@echo "make serve  - start the API and map page on http://127.0.0.1:8000"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/evplan plan --out $(OUT)

test: test-deps $(VENV)/.installed-dev
	$(BIN)/python -m pytest

# The whole suite plus the slow cases (the 4 x 3 shipped-data sweep of tests/test_sweep_shipped.py).
test-slow: test-deps $(VENV)/.installed-dev
	EVPLAN_SLOW_TESTS=1 $(BIN)/python -m pytest

# Debian packages the tests need (Chromium, a CJK font): checked first, so a missing one stops at once.
test-deps:
	./scripts/test-deps

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

# Not part of `make test`: about 2 minutes of load on loopback (bench/soak.py; SOAK_ARGS=--help for options).
soak: $(VENV)/.installed-dev
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

# Not part of `make test`: schemathesis --checks all for 90 s on loopback (bench/fuzz.py; FUZZ_ARGS=--help for options).
fuzz: $(VENV)/.installed-dev
	$(BIN)/python -m bench.fuzz $(FUZZ_ARGS)

serve: $(VENV)/.installed
	$(BIN)/evplan serve

clean:
	rm -rf $(OUT) .pytest_cache
