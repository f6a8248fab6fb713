# The two commands a new user needs: `make run` and `make test`.
# Both create .venv and install what they need; nothing is installed by hand.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Two stamps: `run` needs the runtime only; `test`, `lint` and `bench` add the test
# extras (pytest, mypy, ruff, playwright: some 400 MB an operator does not need).
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean servers

$(RUNTIME): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("maildesk needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(RUNTIME)
	$(BIN)/maildesk run

# Dovecot is the IMAP server the integration tests start on a loopback port.
servers:
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd dovecot-lmtpd >/dev/null; \
	  else echo "Dovecot is missing: sudo apt-get install dovecot-imapd dovecot-lmtpd"; fi; }
	@# Chromium (Debian's) is the real browser of the status page's end-to-end test.
	@[ -x /usr/bin/chromium ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: sudo apt-get install chromium"; fi; }
	@# Postfix and nginx: tests/deploy checks the deploy examples against the real ones,
	@# each started as a plain process in a temporary folder (never the system's service).
	@{ [ -x /usr/sbin/postfix ] && [ -x /usr/sbin/nginx ]; } || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix nginx >/dev/null; \
	  else echo "Postfix or nginx is missing: sudo apt-get install postfix nginx"; fi; }

# Most tests wait on real servers and processes, not on the CPU: four workers (pytest-xdist),
# each file on one worker so that module fixtures are built once, in the order
# tests/conftest.py gives them: files marked `long` first, so that none starts last and ends
# the run alone (xdist's own reorder, by number of tests, would). Bytecode is written even
# where the environment says PYTHONDONTWRITEBYTECODE (this machine's does): without it each
# of the hundreds of maildesk processes the tests start compiles maildesk anew, and each
# pytest after the first (a rerun, the README's `make test PYTEST_ARGS=…`) rewrites every
# test module's asserts again, half of collecting. PYTEST_ARGS adds to it.
TEST_WORKERS ?= 4

test: $(STAMP) servers
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check maildesk tests bench
	$(BIN)/mypy maildesk bench

# The README's figures come from 1,000 mails; a test runs `make bench` on fewer.
BENCH_ARGS ?= --mails 1000

bench: $(STAMP) servers
	$(BIN)/python bench/fetch_throughput.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
