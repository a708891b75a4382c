# labeler: `make up` runs the whole app; `make test` runs every test. Both install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: up test venv frontend system-packages bench clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

frontend:
	@if [ -f frontend/package.json ]; then scripts/build-frontend.sh; fi

up: venv frontend
	$(PY) -m labeler.stack

system-packages:
	scripts/ensure-system-packages.sh

test: venv frontend system-packages
	scripts/run-tests.sh

bench: venv frontend
	$(PY) bench/export.py

clean:
	rm -rf var/test.sqlite3* .pytest_cache
