# smokegate: `make demo` runs the whole suite against the local testbed; `make test` runs the self-tests.
# Both set themselves up on a fresh Debian machine and are safe to run twice.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
XDIST ?= 2

.PHONY: setup browser demo test lint selftest bench soak testbed clean

setup: $(STAMP) browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# A browser for the synthetic suite: Playwright's own Chromium if present, else the system's;
# never a download at test time. On Debian as root, install the chromium package when none is found.
browser: $(STAMP)
	@$(BIN)/python -m smokegate.browser_setup || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium (no browser found)"; \
	    timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq chromium >/dev/null \
	      || echo "could not install chromium: the synthetic suite will report it"; \
	  else \
	    echo "no Chromium found: run 'sudo apt-get install chromium' (the synthetic suite needs it)"; \
	  fi; }

demo: setup
	$(BIN)/python -m smokegate.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests selftests bench
	$(BIN)/mypy

selftest: setup
	$(BIN)/pytest selftests -n $(XDIST) -q

test: lint selftest

bench: setup
	$(BIN)/python bench/bench_smoke.py
	$(BIN)/python bench/bench_report.py

# N whole-suite runs against the healthy testbed through network chaos; any failure is a false alarm.
SOAK_RUNS ?= 10
SOAK_CHAOS ?= delay=0-150,reset=1%
soak: setup
	$(BIN)/python bench/soak.py --runs $(SOAK_RUNS) --chaos '$(SOAK_CHAOS)'

testbed: $(STAMP)
	$(BIN)/python -m smokegate.testbed

clean:
	rm -rf $(VENV) .smokegate .mypy_cache .ruff_cache
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
