# twinforge: `make demo` and `make test` work on a fresh machine (they create .venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[all,test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m twinforge.demo --out demo_output

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadfile

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_home.py
	$(BIN)/python benchmarks/bench_thermostat.py
	$(BIN)/python benchmarks/bench_crest.py
	$(BIN)/python benchmarks/bench_grid.py
	$(BIN)/python benchmarks/bench_machine.py
	$(BIN)/python benchmarks/bench_rare.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache
