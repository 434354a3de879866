# Two commands matter: `make run` (collector on the demo config, embedded store)
# and `make test` (the whole suite; what CI runs). Both build .venv themselves.
# `make quick` is the suite without lab, slow and e2e tests, for while you work.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

.PHONY: run quick test lint install bench clean

# pip of the Python that makes the venv installs into it (--python): a venv without a pip of its own is made
# in a fraction of a second, where ensurepip takes seconds. Without a pip there, the venv gets its own.
# No .pyc compiling at install time (Python compiles what it imports, when it imports it): it was half the time.
HOST_PIP = $(eval HOST_PIP := $$(shell $(PYTHON) -m pip --version >/dev/null 2>&1 && echo yes))$(HOST_PIP)
PIP_INSTALL = $(if $(HOST_PIP),$(PYTHON) -m pip --python $(BIN)/python,$(BIN)/python -m pip) install \
	--quiet --disable-pip-version-check --no-compile

$(BIN)/python:
	$(PYTHON) -m venv --without-pip $(VENV)
	$(if $(HOST_PIP),,$(BIN)/python -m ensurepip --default-pip >/dev/null)

# What running needs, no test extra: the dependencies (read from pyproject.toml) and the editable package,
# side by side. Reinstalled whenever pyproject.toml changes.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	@echo "make run: installing Pinger and what it needs to run into $(VENV), not the test tools ..."
	@$(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' \
		> $(VENV)/run-requirements.txt
	@$(PIP_INSTALL) -r $(VENV)/run-requirements.txt & deps=$$!; \
	$(PIP_INSTALL) --no-deps -e . --config-settings editable_mode=compat || { wait $$deps; exit 1; }; \
	wait $$deps
	@touch $@

# Everything, the test extra included: lint, tests, benchmarks. The venv gets a pip of its own here
# (`.venv/bin/pip`), as developers expect. Reinstalled whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	@test -x $(BIN)/pip || $(BIN)/python -m ensurepip --default-pip >/dev/null
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP) $(RUN_STAMP)

install: $(STAMP)

# The Flux front end the tests check every shipped Flux query with (tests/support/flux_check.py).
FLUX_LSP_VERSION := 0.8.40
FLUX_LSP := .cache/flux-lsp/installed-$(FLUX_LSP_VERSION)
$(FLUX_LSP):
	npm install --prefix .cache/flux-lsp --no-save --no-audit --no-fund --loglevel=error \
		@influxdata/flux-lsp-node@$(FLUX_LSP_VERSION)
	touch $@

# Grafana's own data library, which renders the dashboards' CSV download in tests (tests/support/grafana_csv.py).
GRAFANA_DATA_VERSION := 13.2.3
GRAFANA_DATA := .cache/grafana-data/installed-$(GRAFANA_DATA_VERSION)
$(GRAFANA_DATA):
	npm install --prefix .cache/grafana-data --no-save --no-audit --no-fund --loglevel=error \
		@grafana/data@$(GRAFANA_DATA_VERSION)
	touch $@

run: $(RUN_STAMP)
	@echo "make run: the collector on config/demo.yaml (loopback addresses only); it sweeps from the interval's next" \
		"mark on the clock, one log line a sweep; Ctrl-C stops it"
	$(BIN)/pinger collect -c config/demo.yaml

# ruff (lint and format) over the whole tree, mypy (strict, see pyproject.toml) over the package;
# versions pinned in the test extra. `ruff format .` fixes what the format check finds.
lint: install
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/mypy

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: lint $(FLUX_LSP) $(GRAFANA_DATA)
	@$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

# The markers are declared in pyproject.toml; tests/conftest.py marks lab and daemon tests by their fixtures.
quick: install $(FLUX_LSP) $(GRAFANA_DATA)
	@$(BIN)/python -m pytest -q -m "not lab and not slow and not e2e"; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make quick: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

bench: install
	@for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python -m bench.$$(basename $$b .py) || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
