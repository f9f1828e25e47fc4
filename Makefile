# evplan — two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   runs the main job on the shipped Shanwei data and writes out/
#   make test   runs the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= out

.PHONY: demo test bench serve clean help

help:
	@echo "make demo   - install into .venv and run the main job on the shipped Shanwei data (writes $(OUT)/)"
	@echo "make test   - install into .venv with the dev and bench extras and run the whole test suite"
	@echo "make bench  - run the benchmarks in bench/ (prints a table, writes bench/results.json)"
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

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

serve: $(VENV)/.installed
	$(BIN)/evplan serve

clean:
	rm -rf $(OUT) .pytest_cache
