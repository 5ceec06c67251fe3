# One venv, one editable install; every target that needs the tool depends on it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: soak test lint system-deps bench mutate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job on the default scenario: 30 simulated minutes of the 2025-10-30 incident.
soak: $(STAMP)
	$(BIN)/leakhunt soak --minutes 30

# The SSH tests run a real OpenSSH server on 127.0.0.1, the fleet tests a real Prometheus, the
# report.html tests a real chromium: install them where they are missing.
system-deps:
	@if [ ! -x /usr/sbin/sshd ]; then \
		echo "installing openssh-server for the SSH tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null; \
	fi
	@# The fleet tests run a real Prometheus (and its promtool) on 127.0.0.1; its service never matters.
	@if [ ! -x /usr/bin/prometheus ] || [ ! -x /usr/bin/promtool ]; then \
		echo "installing prometheus for the fleet tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; \
	fi
	@# The report.html tests open each page in a real headless chromium (through selenium).
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		echo "installing chromium and chromium-driver for the report.html tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .

# In parallel: one worker per core (at least two), each test in its own folder and on its own
# ports; tests that share one session fixture (the fleet's Prometheus) are one group on one worker.
TEST_WORKERS ?= $$(( $$(nproc) > 2 ? $$(nproc) : 2 ))

test: $(STAMP) system-deps lint
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks.run

# Mutation testing of analysis/, units.py and the rest that issue 20 names (report/, commands/,
# runs/, fleet/, sampling/store.py, sampling/ssh_config.py, agent_socket.py) against the fast
# in-process tests (config: pyproject's [tool.mutmut]). All of it is about 16,000 mutants, hours
# on 2 cores, so it is not part of `make test`; mutmut keeps each mutant's result in mutants/ and
# reruns only what changed, and MUTANTS limits a run, e.g. make mutate MUTANTS='leakhunt.fleet.*'.
# SAMPLE=N checks a seeded random sample of N mutants a package (benchmarks/mutation_sample.py),
# under an hour for N=100, and the scores then carry a 95 % interval. Either way the score of each
# package checked is written into benchmarks/results.md's table, with the date and the run's time.
MUTANTS ?=
SAMPLE ?=
# When make started: the score's section in results.md says how long it took.
MUTATE_STARTED := $(shell date +%s)
mutate: $(STAMP)
ifdef SAMPLE
	# A name no mutant has: mutmut generates every mutant and maps the tests, then stops on
	# "nothing matches" before running any; the sample is drawn from what it generated.
	$(BIN)/mutmut run --max-children $$(nproc) 'leakhunt.no-mutant-is-named-so' > mutants.log 2>&1 || grep -q 'nothing matches' mutants.log || (tail -c 2000 mutants.log; exit 1)
	$(BIN)/mutmut run --max-children $$(nproc) $$($(BIN)/python -m benchmarks.mutation_sample $(SAMPLE) $(MUTANTS)) >> mutants.log 2>&1 || (tail -c 2000 mutants.log; exit 1)
else
	$(BIN)/mutmut run --max-children $$(nproc) $(MUTANTS) > mutants.log 2>&1 || (tail -c 2000 mutants.log; exit 1)
endif
	$(BIN)/python -m benchmarks.mutation_score --results $(MUTATE_STARTED) $(if $(SAMPLE),--sample $(SAMPLE) $(MUTANTS))

clean:
	rm -rf $(VENV) reports/*/ mutants mutants.log
