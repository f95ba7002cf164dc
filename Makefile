# Every target creates or reuses .venv and installs what it needs: on a fresh machine
# `make demo` and `make test` are the only two commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
OUT ?= out/demo

.PHONY: demo test e2e-long lint bench sandbox clean system-deps layer-font

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

demo: $(STAMP) system-deps
	$(BIN)/propfee demo --out $(OUT)

test: $(STAMP) system-deps
	$(BIN)/pytest

# three months of a few thousand households through the sandbox (about 45 minutes on 2 cores)
e2e-long: $(STAMP) system-deps
	$(BIN)/pytest -m long

lint: $(STAMP)
	$(BIN)/ruff check shared functions tests bench
	$(BIN)/ruff format --check shared functions tests bench
	$(BIN)/mypy

bench: $(STAMP) system-deps
	$(BIN)/python bench/run.py

sandbox: $(STAMP)
	$(BIN)/propfee sandbox up

# before `sam build`: the demand letters' font goes into the layer (at /opt/python/fonts/ in Lambda)
layer-font: system-deps
	mkdir -p shared/fonts && cp $(CJK_FONT) shared/fonts/

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
