# Two commands matter: `make run` (collector on the demo config, embedded store)
# and `make test` (the whole suite; what CI runs). Both build .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

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

run: install
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

bench: install
	@for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python -m bench.$$(basename $$b .py) || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
