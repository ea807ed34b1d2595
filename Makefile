# smokegate: `make demo` runs the whole suite against the local testbed; `make test` runs the self-tests.
# Both set themselves up on a fresh Debian machine and are safe to run twice.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Self-test workers: twice the cores.  The self-tests mostly wait on the testbed (slow faults, watch
# intervals): at one worker per core the CPUs were 55 % busy (selftests 291 s at -n 2, 224 s at -n 4).
XDIST ?= $(shell echo $$(( $$(nproc) * 2 )))

.PHONY: setup bytecode browser postgres nginx nextjs-testbed demo screenshots test lint lint-beside selftest bench soak testbed \
	testbed-next clean hostile bench-load-tools matrix-all nextjs-testbed-vulnerable

setup: $(STAMP) browser bytecode

# smokegate's compiled modules. pip compiles a regular install; an editable one leaves it to the first
# import, which PYTHONDONTWRITEBYTECODE=1 (set on these machines) forbids: then every run, and every
# self-test's pytest, compiled src/'s 111 modules again as it imported them (0.23 s for all of them).
# compileall writes them all the same, and only those older than their source.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q src

# The venv and its packages, installed by uv (pinned; fetched by pip into .venv/uv): it resolves like pip
# (the same versions, pip freeze compared) but downloads and unpacks in parallel, where pip fetches one
# package after another: from a fresh clone 8-13 s against pip's 50-55 s (9 s more to compile the bytecode,
# as pip does).  pip comes into the venv too, for whoever uses it.  Without a pip to fetch uv, or should uv
# fail, the venv gets pip (ensurepip) and pip installs as before.
UV_VERSION := 0.13.9
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	@if $(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(VENV)/uv 'uv==$(UV_VERSION)' >/dev/null 2>&1 \
	    && $(VENV)/uv/bin/uv pip install --quiet --compile-bytecode --python $(BIN)/python pip -e '.[dev,testbed]'; then :; \
	  else echo "installing with pip (uv $(UV_VERSION) could not be used)"; \
	    { $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade >/dev/null; } \
	    && $(BIN)/python -m pip install --quiet -e '.[dev,testbed]'; fi
	@touch $(STAMP)

# A browser for the synthetic suite: Playwright's own Chromium if present, else the system's;
# never a download at test time. On Debian as root, install the chromium package when none is found.
browser: $(STAMP)
	@$(BIN)/python -m smokegate.synthetic.browser_setup || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium (no browser found)"; \
	    timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq chromium >/dev/null \
	      || echo "could not install chromium: the synthetic suite will report it"; \
	  else \
	    echo "no Chromium found: run 'sudo apt-get install chromium' (the synthetic suite needs it)"; \
	  fi; }
	@# Chromium's headless shell: the same engine at about 0.4 x the CPU per page load (used when present).
	@command -v chromium-headless-shell >/dev/null || ! command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium-headless-shell (lighter headless Chromium for the synthetic suite)"; \
	    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq chromium-headless-shell >/dev/null \
	      || echo "could not install chromium-headless-shell: the synthetic suite uses chromium"; \
	  fi; }

# A PostgreSQL server for the shared-history self-tests (they start their own in a temp dir, never a
# system service): Debian's postgresql package, installed on Debian as root when no server binary is found.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's postgresql (no server binary found)"; \
	    timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq postgresql >/dev/null \
	      || echo "could not install postgresql: the PostgreSQL history self-tests will skip"; \
	  else \
	    echo "no PostgreSQL server found: run 'sudo apt-get install postgresql' (the PostgreSQL history self-tests skip without it)"; \
	  fi; }

# The real Next.js testbed (nextjs-testbed/, served by smokegate.testbed.realnext): Debian's nginx in
# front, installed on Debian as root when missing (like chromium and postgresql); its Node packages
# from the lock file (npm ci, only when package.json or the lock file changed) and a production build
# (next build, only when a source changed: .next/BUILD_ID is the stamp).  Never a download at test time.
NEXT_APP := nextjs-testbed
NEXT_SOURCES := $(shell find $(NEXT_APP) \( -name node_modules -o -name .next \) -prune -o -type f ! -name '*.md' -print)

nextjs-testbed: nginx $(NEXT_APP)/.next/BUILD_ID

nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's nginx (the real Next.js testbed's TLS front)"; \
	    timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq nginx >/dev/null \
	      || { echo "could not install nginx: the real Next.js testbed needs it"; exit 1; }; \
	  else \
	    echo "no nginx found: run 'sudo apt-get install nginx' (the real Next.js testbed needs it)"; exit 1; \
	  fi; }

$(NEXT_APP)/node_modules/.package-lock.json: $(NEXT_APP)/package.json $(NEXT_APP)/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: run 'sudo apt-get install npm' (the real Next.js testbed needs it)"; exit 1; }
	NEXT_TELEMETRY_DISABLED=1 timeout 600 npm ci --prefix $(NEXT_APP) --no-audit --no-fund --loglevel=error

$(NEXT_APP)/.next/BUILD_ID: $(NEXT_APP)/node_modules/.package-lock.json $(NEXT_SOURCES)
	cd $(NEXT_APP) && NEXT_TELEMETRY_DISABLED=1 timeout 600 node_modules/.bin/next build >.next-build.log 2>&1 \
	  || { cat .next-build.log; rm -f .next-build.log; exit 1; }
	@rm -f $(NEXT_APP)/.next-build.log

# The vulnerable build (nextjs-testbed-vulnerable/: self-hosted Next.js 15.2.2 with React 19.0.0, the
# middleware-bypass CVE-2025-29927 unpatched), for make matrix-all only: its npm ci and next build (webpack)
# take 21 s and 37 s at load ~8 (3 min beside a fault matrix), 297 MB of node_modules and 52 MB of .next.
NEXT_VULNERABLE_APP := nextjs-testbed-vulnerable
NEXT_VULNERABLE_SOURCES := $(shell find $(NEXT_VULNERABLE_APP) \( -name node_modules -o -name .next \) -prune -o -type f ! -name '*.md' -print)

nextjs-testbed-vulnerable: $(NEXT_VULNERABLE_APP)/.next/BUILD_ID

$(NEXT_VULNERABLE_APP)/node_modules/.package-lock.json: $(NEXT_VULNERABLE_APP)/package.json $(NEXT_VULNERABLE_APP)/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: run 'sudo apt-get install npm'"; exit 1; }
	NEXT_TELEMETRY_DISABLED=1 timeout 600 npm ci --prefix $(NEXT_VULNERABLE_APP) --no-audit --no-fund --loglevel=error

$(NEXT_VULNERABLE_APP)/.next/BUILD_ID: $(NEXT_VULNERABLE_APP)/node_modules/.package-lock.json $(NEXT_VULNERABLE_SOURCES)
	cd $(NEXT_VULNERABLE_APP) && NEXT_TELEMETRY_DISABLED=1 timeout 900 node_modules/.bin/next build >.next-build.log 2>&1 \
	  || { cat .next-build.log; rm -f .next-build.log; exit 1; }
	@rm -f $(NEXT_VULNERABLE_APP)/.next-build.log

# The real Next.js testbed on the fixed ports (8443, 8080), for the local-next target.
testbed-next: $(STAMP) nextjs-testbed
	$(BIN)/python -m smokegate.testbed.realnext

demo: setup
	$(BIN)/python tools/demo.py

# The README's pictures of the reports (docs/*.png), made by running the suite against the testbed.
screenshots: setup
	$(BIN)/python tools/screenshots.py

lint: $(STAMP)
	$(BIN)/ruff check src tests selftests bench tools
	$(BIN)/mypy

# --durations: the slowest self-tests, printed, so a slower make test shows where its time went.
# Under xdist the self-tests sending the load peak run on one worker, one after the other, from the start
# (selftests/conftest.py pytest_xdist_make_scheduler); every other self-test goes to whichever worker is free.
# pytest caches the modules it rewrites for its assertion messages (``*-pytest-*.pyc``) only where Python may
# write bytecode. With PYTHONDONTWRITEBYTECODE=1 every xdist worker rewrote the self-tests and smokegate again
# (3 s of its 6.4 s collection), and every suite run a self-test makes its tests/ modules (0.2 s a run, a few
# hundred runs): the self-tests write that cache, as `smokegate watch` asks its deployments to.
selftest: setup postgres nextjs-testbed
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest selftests -n $(XDIST) -q --durations=25

# The real Next.js testbed's install and build (npm ci, next build: mostly disk and one core) run beside pip's
# install, and lint (mypy: one core, 17 s from a fresh clone) beside the self-tests rather than before them,
# its output kept apart (.smokegate/lint.log, printed when it fails) so the self-tests' lines stay whole.
test:
	$(MAKE) -j3 selftest lint-beside

lint-beside: $(STAMP)
	@mkdir -p .smokegate && $(MAKE) --no-print-directory lint >.smokegate/lint.log 2>&1 \
	  && echo "lint: ruff and mypy found nothing (.smokegate/lint.log)" \
	  || { cat .smokegate/lint.log; echo "lint failed (above; .smokegate/lint.log)"; exit 1; }

# Every hostile answer in front of every check: all 45 runs of the corpus (make test runs every third).
hostile: setup
	SMOKEGATE_HOSTILE_RUNS=all $(BIN)/pytest selftests/test_hostile_answers.py -n $(XDIST) -q

# The fault matrix with every fault the Python testbed can express, the ones make test proves on the real
# Next.js testbed included (make test runs those there only).
matrix-all: setup postgres nextjs-testbed nextjs-testbed-vulnerable
	SMOKEGATE_FAULT_MATRIX=all $(BIN)/pytest selftests/test_fault_matrix.py -n $(XDIST) -q

# bench_peers.py puts smokegate beside curl, sslyze's CLI and Lighthouse (bench/package.json, pinned,
# installed into bench/node_modules from npm) in one run against its own testbed; Lighthouse runs the
# system Chromium (never a browser download).  package.json's overrides pin the two packages Lighthouse's
# trace engine asks for at "latest", which npm ci could not otherwise hold to the lock file.
bench: setup bench/node_modules/.package-lock.json bench-load-tools
	$(BIN)/python bench/bench_smoke.py
	$(BIN)/python bench/bench_report.py
	$(BIN)/python bench/bench_load.py
	$(BIN)/python bench/bench_peers.py

# bench_load.py puts the load check's generator beside wrk, ab and bare Locust, against nginx `return 200`:
# Debian's nginx, wrk and apache2-utils (ab), installed on Debian as root when missing.
bench-load-tools:
	@command -v nginx >/dev/null && command -v wrk >/dev/null && command -v ab >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's nginx, wrk and apache2-utils (bench_load.py)"; \
	    timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq \
	      nginx-light wrk apache2-utils >/dev/null || { echo "could not install nginx, wrk, apache2-utils"; exit 1; }; \
	  else \
	    echo "bench_load.py needs nginx, wrk and ab: run 'sudo apt-get install nginx-light wrk apache2-utils'"; exit 1; \
	  fi; }

bench/node_modules/.package-lock.json: bench/package.json bench/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: run 'sudo apt-get install npm' (bench_peers.py needs Lighthouse)"; exit 1; }
	timeout 600 npm ci --prefix bench --no-audit --no-fund --loglevel=error

# N whole-suite runs against the healthy testbed through network chaos; any failure is a false alarm.
# SOAK_TESTBED=next soaks the real Next.js testbed (next start behind nginx) instead of the Python one.
SOAK_RUNS ?= 10
SOAK_CHAOS ?= delay=0-150,reset=1%
SOAK_TESTBED ?= python
soak: setup $(if $(filter next,$(SOAK_TESTBED)),nextjs-testbed)
	$(BIN)/python bench/soak.py --runs $(SOAK_RUNS) --chaos '$(SOAK_CHAOS)' --testbed $(SOAK_TESTBED) $(SOAK_ARGS)

testbed: $(STAMP)
	$(BIN)/python -m smokegate.testbed

clean:
	rm -rf $(VENV) .smokegate .mypy_cache .ruff_cache
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
