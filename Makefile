# Developer entry points. `make test` is the one command that installs everything the
# tests need on a fresh machine and runs lint, types and the whole suite (CI runs it).
VENV ?= .venv
PY := $(VENV)/bin/python
# llama.cpp is compiled from source. A -march=native build enables ggml's AMX path,
# which faults (ldtilecfg) on VMs that advertise AMX in CPUID; this portable x86-64
# build runs everywhere with AVX2. See README, "llama.cpp on your hardware".
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

.PHONY: install test lint typecheck pytest bench docs router prices

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=strict
	touch $@

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

# pytest exits 5 when it collected no tests: that is a failure here, said plainly.
# One worker per core; a test file stays on one worker, so module-scoped engines and
# servers start once (README, "Running the tests"). PYTEST_ARGS=-n0 runs it serially.
PYTEST_ARGS ?= -n auto --dist loadfile
pytest: install
	$(VENV)/bin/pytest $(PYTEST_ARGS) || { s=$$?; [ $$s -ne 5 ] || echo "pytest collected no tests" >&2; exit $$s; }

test: lint typecheck pytest

bench: install
	$(VENV)/bin/pytest tests/benchmarks -s -p no:cacheprovider

docs: install
	$(PY) -m convergio_llm.cli.docs

# providers/prices_table.py, the parsed mirror of prices.yaml that `llm route` reads
# (no yaml at start-up); tests/providers/test_prices_table.py fails when it is stale.
prices: install
	$(PY) -m convergio_llm.providers.prices
	$(VENV)/bin/ruff format providers/prices_table.py

# The learned router's weights, regenerated bit for bit from ../shared/routing-data
# (or ROUTING_DATA=...); the data are read, never shipped. See routing/ROUTER_CARD.md.
ROUTING_DATA ?= ../shared/routing-data
router: install
	$(PY) tools/train_router.py --data $(ROUTING_DATA)
