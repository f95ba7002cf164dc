# Every target creates or reuses .venv and installs what it needs: on a fresh machine
# `make demo` and `make test` are the only two commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
OUT ?= out/demo
# DEMO_FLAGS=--keep-running: the sandbox stays up when the simulation ends, the console's address and sign-ins printed
DEMO_FLAGS ?=
# checkov (tests/unit/test_security.py scans the template with it) has a venv of its own, inside .venv: it pins
# boto3 and dozens of other packages, which must not move what the project resolves. One exact version: checkov
# adds checks in patch releases and the test allows no failed check, so an upgrade is made here on purpose, with
# the template fixed (or a reasoned skip in .checkov.yaml) for whatever the new checks find.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := $(VENV)/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
# The SAM CLI, for `make build`: a venv of its own inside .venv for the same reason (it pins boto3, click, flask and
# more), one exact version. Any Python 3.11+ runs it; the functions' runtime, python3.12, is not needed here: the
# layer's Makefile fetches Lambda's wheels with pip, and the functions (no requirements.txt) are copied as they are.
SAM_VERSION := 1.170.0
SAM_VENV := $(VENV)/sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_VERSION)
SAM_BUILD := .aws-sam/build

.PHONY: demo test e2e-long lint bench bench-replies bench-console bench-reconcile replies-model sandbox clean chromium layer-font build

# Chromium, in which the browser tests render the HTML report (Playwright drives it; it downloads no browser of its
# own): the one system package, and only `make test` wants it. It installs Debian's when `chromium` is missing;
# where apt-get cannot, it says what to do and those tests skip, saying why, while every other test runs.
# The letters' CJK font and reading PDFs back need no system package (pyproject.toml: pylopdf-fonts-zh-cn, pypdf).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

chromium:
	@if ! command -v chromium >/dev/null; then \
		echo "make test: no chromium on PATH, installing Debian's (apt-get install chromium) for the browser tests"; \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; } \
		|| { echo "make test: could not install chromium with apt-get: the browser tests will be SKIPPED."; \
			echo "make test: to run them, install Chromium so that \`chromium\` is on PATH, then run make test again."; }; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

$(CHECKOV_STAMP):
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	@rm -f $(CHECKOV_VENV)/.installed-*
	@touch $@

$(SAM_STAMP):
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet 'aws-sam-cli==$(SAM_VERSION)'
	@rm -f $(SAM_VENV)/.installed-*
	@touch $@

# the layers of shared/propfee, as the contracts in pyproject.toml write them down
LINT_IMPORTS = PYTHONPATH=shared $(BIN)/lint-imports --no-cache

demo: $(STAMP)
	$(BIN)/propfee demo --out $(OUT) $(DEMO_FLAGS)

test: $(STAMP) $(CHECKOV_STAMP) chromium
	$(LINT_IMPORTS)
	PROPFEE_CHECKOV=$(CHECKOV) $(BIN)/pytest

# three months of a few thousand households through the sandbox (about 45 minutes on 2 cores)
e2e-long: $(STAMP)
	$(BIN)/pytest -m long

lint: $(STAMP)
	$(BIN)/ruff check shared functions tests bench
	$(BIN)/ruff format --check shared functions tests bench
	$(BIN)/mypy
	$(LINT_IMPORTS)

bench: $(STAMP)
	$(BIN)/python bench/run.py

# the replies section alone (a few minutes): on the held-out judge corpus, and the training corpora cross-validated
# (by fold, and holding out each hand-written file and each voice in turn)
bench-replies: $(STAMP)
	$(BIN)/python bench/run.py --only replies

bench-console: $(STAMP)
	$(BIN)/python bench/run.py --only console

bench-reconcile: $(STAMP)
	$(BIN)/python bench/run.py --only reconcile

# retrain the reply model after changing tests/data/train_src/*.txt, the corpora or intents.yaml
replies-model: $(STAMP)
	$(BIN)/python tests/data/train_src/build.py
	$(BIN)/python -m propfee.feedback.intent_training train

sandbox: $(STAMP)
	$(BIN)/propfee sandbox up

# the demand letters' font goes into the layer (at /opt/python/fonts/ in Lambda): the one file of .venv's
# pylopdf-fonts-zh-cn (propfee[sandbox]) that propfee.collection.cjk_pdf uses, not the whole package (20 MB)
layer-font: $(STAMP)
	@mkdir -p shared/fonts
	$(BIN)/python -c 'import importlib.resources as r, shutil; shutil.copy2(r.files("pylopdf_fonts_zh_cn") / "NotoSansSC-Regular.otf", "shared/fonts/")'

# the artifacts `sam deploy` uploads, in .aws-sam/build (README, "Deploy to AWS"). The SAM venv's bin comes first on
# PATH: the layer's Makefile runs its python3 (which has pip), and the functions' builder finds a Python there.
build: $(SAM_STAMP) layer-font
	PATH="$(abspath $(SAM_VENV)/bin):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM) build --template-file infra/template.yaml
	@$(SAM_VENV)/bin/python shared/layer_build.py size $(SAM_BUILD)/PropfeeLayer

clean:
	rm -rf $(VENV) out .aws-sam .pytest_cache .mypy_cache .ruff_cache
