# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The install compiles the modules of mypyc-modules.txt with mypyc (setup.py; needs gcc and the
# Python headers); SMPP_PURE_PYTHON=1 installs pure Python. One stamp per mode, so switching
# reinstalls.
COMPILED_BUILD := $(if $(filter-out 0,$(SMPP_PURE_PYTHON)),pure,compiled)
STAMP := $(VENV)/.installed-$(COMPILED_BUILD)
BUILT := pdu/*.so dispatcher/*.so dispatcher/*/*.so *__mypyc*.so build
COMPILED_SOURCES := $(shell grep -v '^[#]' mypyc-modules.txt)
export SMPP_PURE_PYTHON

.PHONY: test lint typecheck pytest bench demo clean

# An edited compiled module is recompiled: a stale .so would be imported in place of the .py.
$(STAMP): pyproject.toml setup.py mypyc-modules.txt $(COMPILED_SOURCES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	rm -rf $(BUILT) $(VENV)/.installed*
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks

demo: $(STAMP)
	$(BIN)/smpp-dispatcher demo

clean:
	rm -rf $(VENV) $(BUILT) .mypy_cache .pytest_cache .ruff_cache .hypothesis
