# cib: the two commands that work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-slow readme clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## make demo: set up .venv and run cib on the bundled sample, writing out/demo/
demo: $(VENV)/.installed
	$(BIN)/cib demo -o out/demo

## make test: set up .venv with the dev extra and run the whole default suite
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

## make test-slow: the long cases too
test-slow: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n 2 -q -m "slow or not slow"

## make readme: regenerate the README's CLI reference from --help
readme: $(VENV)/.installed
	$(BIN)/python -m cib._clidoc README.md

clean:
	rm -rf $(VENV) out .pytest_cache build *.egg-info
