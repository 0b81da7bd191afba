# speechbench: one entry point for set-up, tests, the demo and benchmarks.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.speechbench-installed
PYTEST_ARGS ?=
# pytest-xdist workers; tests that run the same recipe take turns (tests/testutil.py)
TEST_JOBS ?= 2
# make demo UPSTREAMS="apc npc" SEEDS=3 JOBS=2 (UPSTREAMS=all: every upstream the demo can pretrain; JOBS: steps side by side, default one per core)
UPSTREAMS ?=
SEEDS ?=
JOBS ?=

.PHONY: install test test-fast demo bench clean-venv

install: $(STAMP)

# Re-runs only when the dependency list changes; system packages first (espeak-ng, sox).
$(STAMP): pyproject.toml tools/install_system_deps.sh
	bash tools/install_system_deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

test: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_JOBS) --dist worksteal $(PYTEST_ARGS)

test-fast: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_JOBS) --dist worksteal -m "not slow" $(PYTEST_ARGS)

demo: install
	bash tools/demo.sh $(if $(UPSTREAMS),--upstreams "$(UPSTREAMS)") $(if $(SEEDS),--seeds $(SEEDS)) $(if $(JOBS),--jobs $(JOBS))

bench: install
	$(PY) bench/run_all.py

clean-venv:
	rm -rf $(VENV)
