# Python IPC, hands-on: the two commands of the quick start, and the maintainers' ones.
#
#   make lab        set up .venv (first time only) and open JupyterLab on the course
#   make test       set up .venv (first time only) and run every test
#   make execute    re-run every notebook top to bottom and store its outputs
#   make lint       ruff on the package, the tests and the notebooks
#
# Set-up: .venv is made with $(PYTHON) from requirements.txt (the course) and
# requirements-dev.txt (test tools); it is redone when either file changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
COURSE := $(VENV)/.course-installed
DEV    := $(VENV)/.dev-installed
# Jupyter refuses to run as root unless told; containers and CI run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test test-quick execute lint clean

$(COURSE): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $@

$(DEV): $(COURSE) requirements-dev.txt
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@

lab: $(COURSE)
	$(BIN)/jupyter lab $(ROOT_FLAG) --notebook-dir=notebooks --LabApp.default_url=/lab/tree/00_why_ipc.ipynb

test: $(DEV)
	$(BIN)/python -m tests.run_suite

# Quicker iteration: one start method, one notebook, e.g.
#   make test-quick METHODS=spawn NOTEBOOKS=01_queue
test-quick: $(DEV)
	$(BIN)/python -m tests.run_suite --methods $(or $(METHODS),fork) --notebooks "$(NOTEBOOKS)"

execute: $(COURSE)
	$(BIN)/python -m tests.execute_notebooks

lint: $(COURSE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) tests/.reports
