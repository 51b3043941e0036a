# Two commands do all the set-up on a fresh machine: `make synth` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := synth

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

PYTHON_BOOTSTRAP ?= python3
PIPENV_VERSION := 2026.10.3
VENV_PYTHON := .venv/bin/python
SYNCED := .venv/.synced

.PHONY: setup synth test clean

setup: $(SYNCED)

# Recreated whenever Pipfile.lock changes; installs exactly what the lock names.
$(SYNCED): Pipfile.lock
	@$(PYTHON_BOOTSTRAP) -m pipenv --version >/dev/null 2>&1 || \
		$(PYTHON_BOOTSTRAP) -m pip install --quiet "pipenv==$(PIPENV_VERSION)"
	$(PYTHON_BOOTSTRAP) -m pipenv sync --dev
	@touch $@

synth: $(SYNCED)
	$(VENV_PYTHON) main.py

test: $(SYNCED)
	$(VENV_PYTHON) -m pytest

clean:
	rm -rf cdktf.out reports .pytest_cache
