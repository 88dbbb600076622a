# glw-sim: `make run` sets up and runs the baseline; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,explore]"
	$(BIN)/python -m glw_sim.firstrun  # compile the model's kernels once (a few minutes), not in the first run
	touch $@

.PHONY: setup run test bench calibrate clean
setup: $(BIN)/.installed

run: $(BIN)/.installed
	$(BIN)/glw-sim run scenarios/baseline.yaml

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/sweep_throughput.py

calibrate: $(BIN)/.installed
	$(BIN)/glw-sim calibrate

clean:
	rm -rf $(VENV) .pytest_cache
