# twinforge: `make demo` and `make test` work on a fresh machine (they create .venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One stamp per install: the demo needs the package and its [ml] extra only; the tests
# need every extra; the API reference needs pdoc. The test install covers the demo's.
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs
PYTEST := $(BIN)/python -m pytest -q -n auto --dist loadfile

.PHONY: demo test test-slow docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEMO_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[ml]"
	touch $(DEMO_STAMP)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[all,test]"
	touch $(STAMP) $(DEMO_STAMP)

$(DOCS_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python -m twinforge.demo --out demo_output

# The fast suite; the long end-to-end cases are marked `slow` and run by test-slow.
test: $(STAMP)
	$(PYTEST) -m "not slow"

test-slow: $(STAMP)
	$(PYTEST) -m slow

# Every module of the package (a package's page lists only its __all__).
API_MODULES = $(BIN)/python -c "import pkgutil, twinforge; print(' '.join(['twinforge'] + [m.name for m in pkgutil.walk_packages(twinforge.__path__, 'twinforge.') if not m.name.endswith('__main__')]))"

docs: $(DOCS_STAMP)
	rm -rf build/api
	$(BIN)/python -W "ignore:The module specification" docs/_api.py --docformat numpy --no-show-source -o build/api $$($(API_MODULES))
	@echo "API reference: build/api/index.html"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_home.py
	$(BIN)/python benchmarks/bench_thermostat.py
	$(BIN)/python benchmarks/bench_crest.py
	$(BIN)/python benchmarks/bench_grid.py
	$(BIN)/python benchmarks/bench_machine.py
	$(BIN)/python benchmarks/bench_rare.py
	$(BIN)/python benchmarks/bench_solar.py

clean:
	rm -rf $(VENV) demo_output build .pytest_cache
