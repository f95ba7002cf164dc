# Every target creates or reuses .venv and installs what it needs: on a fresh machine
# `make demo` and `make test` are the only two commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
OUT ?= out/demo
# checkov (tests/unit/test_security.py scans the template with it) has a venv of its own, inside .venv: it pins
# boto3 and dozens of other packages, which must not move what the project resolves. One exact version: checkov
# adds checks in patch releases and the test allows no failed check, so an upgrade is made here on purpose, with
# the template fixed (or a reasoned skip in .checkov.yaml) for whatever the new checks find.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := $(VENV)/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

.PHONY: demo test e2e-long lint bench bench-replies replies-model sandbox clean system-deps layer-font

# Debian packages: a CJK font for the demand letters' PDFs, pdftotext to read them back in tests, and
# chromium, in which a test renders the HTML report (Playwright drives it; it downloads no browser of its own)
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

system-deps:
	@if [ ! -f $(CJK_FONT) ] || ! command -v pdftotext >/dev/null || ! command -v chromium >/dev/null; then \
		echo "installing fonts-wqy-microhei, poppler-utils and chromium"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq fonts-wqy-microhei poppler-utils chromium >/dev/null; \
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

demo: $(STAMP) system-deps
	$(BIN)/propfee demo --out $(OUT)

test: $(STAMP) $(CHECKOV_STAMP) system-deps
	PROPFEE_CHECKOV=$(CHECKOV) $(BIN)/pytest

# three months of a few thousand households through the sandbox (about 45 minutes on 2 cores)
e2e-long: $(STAMP) system-deps
	$(BIN)/pytest -m long

lint: $(STAMP)
	$(BIN)/ruff check shared functions tests bench
	$(BIN)/ruff format --check shared functions tests bench
	$(BIN)/mypy

bench: $(STAMP) system-deps
	$(BIN)/python bench/run.py

# the replies section alone (a minute): on the held-out judge corpus, and the training corpora cross-validated
bench-replies: $(STAMP)
	$(BIN)/python bench/run.py --only replies

# retrain the reply model after changing tests/data/train_src/*.txt, the corpora or intents.yaml
replies-model: $(STAMP)
	$(BIN)/python tests/data/train_src/build.py
	$(BIN)/python -m propfee.intent_model train

sandbox: $(STAMP)
	$(BIN)/propfee sandbox up

# before `sam build`: the demand letters' font goes into the layer (at /opt/python/fonts/ in Lambda)
layer-font: system-deps
	mkdir -p shared/fonts && cp $(CJK_FONT) shared/fonts/

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
