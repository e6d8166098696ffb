# Two commands for a new user: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test bench bench-gpu lint screenshot screenshots dist clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "ResNet Studio needs Python >= 3.10 (set PYTHON=python3.x)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing ResNet Studio and its dependencies into $(VENV) (first time: a few minutes)..."
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# resnet-studio checks the system libraries Qt's window needs first and names any missing.
run: $(STAMP)
	$(BIN)/resnet-studio

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest
	$(BIN)/ruff check resnet_studio tests benchmarks
	$(BIN)/lint-imports

# Ratios against baselines measured in the same run, one line each; then the slow checks that
# train real nets for minutes (the quick depth demo must show degradation).
bench: $(STAMP)
	$(BIN)/python -m benchmarks
	RESNET_STUDIO_SLOW=1 RESNET_STUDIO_DEPTH_CHECK=1 QT_QPA_PLATFORM=offscreen \
		$(BIN)/python -m pytest -q -rA tests/core/test_experiments.py tests/core/test_training.py \
		tests/core/test_preset_estimate.py -k "quick or depth_check"

# The GPU figures (a CUDA machine; no network): training speed by precision, app vs bare loop,
# the quick Depth Lab, concurrent runs, peak memory. Writes benchmarks/results/gpu.json.
bench-gpu: $(STAMP)
	$(BIN)/python -m benchmarks.gpu --out benchmarks/results/gpu.json

lint: $(STAMP)
	$(BIN)/ruff check resnet_studio tests benchmarks
	$(BIN)/lint-imports

# Regenerates the README screenshot (needs a display, or xvfb-run).
screenshot: $(STAMP)
	$(BIN)/resnet-studio gui --model resnet56 --screenshot assets/screenshot.png
	$(BIN)/resnet-studio gui --model resnet34 --compare plain-34 --screenshot assets/compare.png \
		--size 1600x1060

# Every tab at 1280x720 and 1920x1080 in assets/tabs/ (one window, one tab after another; under
# xvfb-run where there is no display). Offline: the shipped trained nets and sample images.
XVFB := $(if $(DISPLAY)$(WAYLAND_DISPLAY),,xvfb-run -a -s "-screen 0 1920x1080x24")
screenshots: $(STAMP)
	$(XVFB) $(BIN)/resnet-studio gui --model resnet56 --theme light --tab all \
		--size 1280x720,1920x1080 --screenshot 'assets/tabs/{tab}-{size}.png'

# A wheel and an sdist in dist/, built offline with the venv's setuptools (the dev extra's).
dist: $(STAMP)
	$(BIN)/python -m build --no-isolation --outdir dist .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
