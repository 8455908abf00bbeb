# The two promises of the README:
#   make demo  - set up and run a real tuning job on the embedded defaults (local processes, SQLite)
#   make test  - set up and run the tests (PostgreSQL is started by the test setup)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip

.PHONY: demo test setup setup-test clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q "torch==2.13.0" -e ".[all,test]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/hyperjob tune examples/digits/job.yaml

test: setup
	$(PY) -m pytest -q -p no:cacheprovider tests

clean:
	rm -rf hyperjob-runs
