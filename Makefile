# redline: `make run` for a working demo, `make test` for the whole suite. Both start from a
# fresh clone: they create .venv, install redline into it, and install missing system packages.
# `make test` runs the suite on every core, two test processes a core (pytest-xdist; each has its
# own PostgreSQL database). Work stealing: a worker that runs dry takes tests from the other, so one long file
# no longer keeps one core busy after the other has finished (a module's fixtures may then be
# built on both workers, seconds against minutes).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Two test processes a core: many tests wait on a server, a worker or the database they started,
# and a waiting process leaves its core to another. On 2 cores with one of them kept busy by
# something else, 4 processes ran the suite in 10 min 49 s where 2 took 12 min 14 s; on an idle
# machine 2 are faster (8 min 53 s against 9 min 59 s): TEST_WORKERS=2 there.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))

.PHONY: run test fuzz lint bench install clean

run: $(INSTALLED)
	$(BIN)/redline db upgrade
	$(BIN)/redline demo
	$(BIN)/redline matches --limit 15
	$(BIN)/redline outlinks --limit 10
	$(BIN)/redline status
	$(BIN)/redline user add admin --role admin --random-password --if-missing
	$(BIN)/redline serve

test: $(INSTALLED)
	scripts/system-deps.sh test
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports
# Compiled modules are cached even where PYTHONDONTWRITEBYTECODE is set (as on these
# machines): otherwise each test process rewrites and compiles every test module again (5 s
# of CPU) and each `redline` command the tests start compiles redline's sources again.
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

# The fuzz harnesses and the API conformance run of `make test`, with many more inputs each and
# random ones each run (REDLINE_FUZZ=long); failures are kept in .hypothesis/ and tried first next
# time. Prints the inputs each harness ran. REDLINE_FUZZ_EXAMPLES / _API_EXAMPLES change the counts.
fuzz: $(INSTALLED)
	scripts/system-deps.sh test
	REDLINE_FUZZ=long $(BIN)/pytest tests/fuzz tests/web/test_schemathesis.py

lint: $(INSTALLED)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

bench: $(INSTALLED)
	scripts/system-deps.sh bench
	mkdir -p benchmarks/results
	$(BIN)/python benchmarks/ingest.py > benchmarks/results/ingest.json
	$(BIN)/python benchmarks/pdq_index.py --size 1000000 --size 10000000 > benchmarks/results/pdq_index.json
	$(BIN)/python benchmarks/hashing.py > benchmarks/results/hashing.json
	$(BIN)/python benchmarks/robustness.py > benchmarks/results/robustness.json
	$(BIN)/python benchmarks/classify.py > benchmarks/results/classify.json
	$(BIN)/python benchmarks/web.py > benchmarks/results/web.json
	$(BIN)/python benchmarks/login_flood.py > benchmarks/results/login_flood.json
	$(BIN)/python benchmarks/throughput.py > benchmarks/results/throughput.json
	@echo "Results in benchmarks/results/"

install: $(INSTALLED)

$(BIN)/python:
	scripts/system-deps.sh python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(INSTALLED): pyproject.toml | $(BIN)/python
	scripts/system-deps.sh python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,embeddings]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
