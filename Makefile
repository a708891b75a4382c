# labeler: `make up` runs the whole app; `make test` runs every test. Both install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATUMARO_VENV := .venv-datumaro
DATUMARO_STAMP := $(DATUMARO_VENV)/.installed

.PHONY: up test venv datumaro frontend system-packages bench clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

# Datumaro reads our exports in the format tests; its Pillow pin differs from ours (requirements-datumaro.txt).
$(DATUMARO_STAMP): requirements-datumaro.txt
	test -x $(DATUMARO_VENV)/bin/python || $(PYTHON) -m venv $(DATUMARO_VENV)
	$(DATUMARO_VENV)/bin/python -m pip install --quiet -r requirements-datumaro.txt
	touch $(DATUMARO_STAMP)

datumaro: $(DATUMARO_STAMP)

frontend:
	@if [ -f frontend/package.json ]; then scripts/build-frontend.sh; fi

up: venv frontend
	$(PY) -m labeler.stack

system-packages:
	scripts/ensure-system-packages.sh

test: venv datumaro frontend system-packages
	scripts/run-tests.sh

bench: venv frontend
	$(PY) bench/export.py

clean:
	rm -rf var/test.sqlite3* .pytest_cache
