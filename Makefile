# Python IPC, hands-on: the two commands of the quick start, and the maintainers' ones.
#
#   make lab        set up .venv (first time only) and open JupyterLab on the course
#   make check      check the set-up in under a minute (one line to paste; ipc_helpers.doctor)
#   make test       set up .venv (first time only) and run every test
#   make execute    re-run every notebook top to bottom and store its outputs
#   make lint       ruff on the package, the tests and the notebooks
#
# For instructors (docs/instructor-guide.md):
#   make learner-copy   the learner bundle in learner-copy/: notebooks without solutions,
#                       outputs cleared, the package, the set-up (its own `make lab`)
#   make wheelhouse     the course's packages as wheels in wheelhouse/, for every supported
#                       Python found here, for a room offline
#
# For maintainers:
#   make test-quick     chosen stages and notebooks only (see below)
#   make site           the course as a static website, in build/site/html
#   make lock           re-resolve requirements*.in into the full locks (needs the network)
#
# Set-up: .venv is made with $(PYTHON) from requirements.txt (the course's full
# lock) and requirements-dev.txt (test tools); it is redone when either changes.
# Offline: `make lab WHEELHOUSE=wheelhouse` (or any path) installs from that
# folder only, with pip's index turned off; it refuses a Python the folder has
# no wheels for (tools/wheelhouse.py --check).

# The course supports Python 3.11 to 3.14 and prefers 3.13, its own Python
# (environment.yml). Choose another with `make lab PYTHON=python3.12`.
PYTHON ?= $(shell tools/find_python.sh)
# The oldest supported Python: `make test` also runs every notebook on it.
PYTHON_OLDEST ?= $(shell tools/find_python.sh 3.11)
VENV   := .venv
BIN    := $(VENV)/bin
COURSE := $(VENV)/.course-installed
DEV    := $(VENV)/.dev-installed
# Jupyter refuses to run as root unless told; containers and CI run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# Where pip finds packages: the index (default) or only the WHEELHOUSE folder.
PIP_FROM := $(if $(WHEELHOUSE),--no-index --find-links $(WHEELHOUSE),)

.PHONY: lab check test test-quick execute lint clean learner-copy wheelhouse lock site

$(COURSE): requirements.txt pyproject.toml
	@tools/check_python.sh "$(PYTHON)"
	@$(if $(WHEELHOUSE),$(PYTHON) tools/wheelhouse.py --check "$(WHEELHOUSE)")
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FROM) --upgrade pip
	$(BIN)/python -m pip install $(PIP_FROM) -r requirements.txt
	$(BIN)/python -m pip install $(PIP_FROM) --no-deps -e .
	touch $@

# The oldest supported Python, with the course's lock: `make test` runs every
# notebook on it too (errors fail; outputs are not compared).
OLDEST := $(VENV)-oldest/.course-installed
$(OLDEST): requirements.txt pyproject.toml
	@tools/check_python.sh "$(PYTHON_OLDEST)"
	@$(if $(WHEELHOUSE),$(PYTHON_OLDEST) tools/wheelhouse.py --check "$(WHEELHOUSE)")
	test -x $(VENV)-oldest/bin/python || $(PYTHON_OLDEST) -m venv $(VENV)-oldest
	$(VENV)-oldest/bin/python -m pip install $(PIP_FROM) --upgrade pip
	$(VENV)-oldest/bin/python -m pip install $(PIP_FROM) -r requirements.txt
	$(VENV)-oldest/bin/python -m pip install $(PIP_FROM) --no-deps -e .
	touch $@

$(DEV): $(COURSE) requirements-dev.txt
	$(BIN)/python -m pip install $(PIP_FROM) -r requirements-dev.txt
	touch $@

lab: $(COURSE)
	$(BIN)/jupyter lab $(ROOT_FLAG) --notebook-dir=. --LabApp.default_url=/lab/tree/notebooks/00_why_ipc.ipynb

# Learners and instructors: is this set-up ready? One line to paste into the
# class's shared document (docs/instructor-guide.md); the instructor's smoke test.
check: $(COURSE)
	$(BIN)/python -m ipc_helpers.doctor

# make test: every stage of tests/run_suite.py (its docstring lists them), side by
# side, with a summary naming each stage's Python, start method, notebooks and time.
# It also builds .venv-oldest (Python 3.11). A stage that runs less than it claims
# (no Python 3.11, no Chromium for the browser stage, a folder missing, no notebook)
# fails it unless you allow that by stage name, e.g.
#   make test ALLOW_SKIP=browser            or   ALLOW_SKIP='oldest-*'   (names or patterns)
# The two set-ups are built side by side (-j2): on a fresh clone that saves a minute.
test:
	@$(MAKE) --no-print-directory -j2 --output-sync=target $(DEV) $(if $(PYTHON_OLDEST),$(OLDEST))
	$(BIN)/python -m tests.run_suite --allow-skip "$(ALLOW_SKIP)"

# Quicker iteration: strict nbval under one start method on some notebooks, e.g.
#   make test-quick METHODS=spawn NOTEBOOKS=01_queue
#   make test-quick STAGES=macos NOTEBOOKS=01_      (any stages: names or patterns)
test-quick: $(DEV)
	$(BIN)/python -m tests.run_suite --methods $(or $(METHODS),fork) \
		--stages '$(or $(STAGES),nbval-*)' --notebooks "$(NOTEBOOKS)" --allow-skip "$(ALLOW_SKIP)"

execute: $(COURSE)
	$(BIN)/python -m tools.execute_notebooks

lint: $(COURSE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Instructors: the learner bundle (no solutions, no outputs, its own set-up) in
# learner-copy/ and learner-copy.zip. Fails, writing nothing, if a solution marker
# is malformed, an exercise cell holds an answer, or the package holds a solution.
learner-copy: $(COURSE)
	$(BIN)/python -m tools.learner_copy --out learner-copy --zip

# Instructors: wheels of the course's packages (and pip, setuptools) in wheelhouse/,
# for every Python 3.11-3.14 found here, this OS and processor (PYTHONS.txt lists
# them); then `make lab WHEELHOUSE=wheelhouse` offline, here or in learner-copy/.
wheelhouse: $(COURSE)
	$(BIN)/python -m tools.wheelhouse --out wheelhouse

# Maintainers: re-resolve the locks from requirements.in / requirements-dev.in
# (one universal lock for Python 3.11-3.14) and copy the course's lock into
# environment.yml. tests/hygiene/test_pins.py checks that all three agree.
lock: $(DEV)
	$(BIN)/python -m tools.lock

# The course website (Sphinx + myst-nb) in build/site/html, from the notebooks'
# stored outputs (nothing is executed); prints where to open it. Warnings fail it.
.PHONY: site
site: $(DEV)
	$(BIN)/python -m tools.site

clean:
	rm -rf $(VENV) $(VENV)-oldest tests/.reports
