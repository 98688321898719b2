# The two commands a newcomer runs (see README.md): `make quickstart` and `make test`.
# Each creates .venv with what it needs; nothing is installed outside it but Debian's Chromium
# for the browser tests (only when root with apt-get; otherwise those tests skip, saying why).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: quickstart test test-fast lint bench gallery dist clean

quickstart: $(VENV)/.quickstart
	$(BIN)/python scripts/quickstart.py

test: $(VENV)/.test
	bash scripts/ensure_chromium.sh
	$(BIN)/ruff check apiframe_magic tests scripts benchmarks setup.py
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The edit loop: lint, types and the tests that run in this process (no kernels, subprocesses,
# browsers or wheel builds: those are marked slow). `make test` still runs everything.
test-fast: $(VENV)/.test
	$(BIN)/ruff check apiframe_magic tests scripts benchmarks setup.py
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "not slow and not browser and not notebook and not wheel and not soak"

bench: $(VENV)/.test
	$(BIN)/python benchmarks/run_all.py

gallery: $(VENV)/.docs
	$(BIN)/python scripts/make_gallery.py

# The wheel and sdist a release uploads (`make test` builds its own copy in a temp dir and checks it).
dist: $(VENV)/.test
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/python -m twine check --strict dist/*

$(VENV)/.quickstart: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[notebook]'
	touch $@

$(VENV)/.test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.quickstart

$(VENV)/.docs: $(VENV)/.test
	$(BIN)/python -m pip install -q -e '.[test,docs]'
	touch $@

clean:
	rm -rf $(VENV) apiframe_outputs test-artifacts .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
