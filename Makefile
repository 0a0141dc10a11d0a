# The two set-up commands of the README: `make run` and `make test`.
# Both create .venv/ on first use (and refresh it when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
SAMPLE := resources/sample

.PHONY: run test lint bench clean-venv

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	@bash installer/linux/qt-system-libs.sh
	@# the sample is three FracAtlas views assembled for demonstration: opened as one study
	$(VENV)/bin/wristviewer --one-study $(SAMPLE)

test: $(STAMP)
	@# desktop-file-validate and update-mime-database check the Linux desktop integration.
	@command -v desktop-file-validate >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get install -y -q --no-install-recommends desktop-file-utils shared-mime-info >/dev/null 2>&1; } || true
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest -m "not slow" -q

lint: $(STAMP)
	$(VENV)/bin/ruff check wristviewer training tests benchmarks
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/python -m pip install --quiet -e '.[bench]'
	$(VENV)/bin/python benchmarks/bench_imaging.py

clean-venv:
	rm -rf $(VENV)

# ---- installer (desktop packaging; see installer/README.md) ----------------------------
# One-folder frozen app in build/dist/WristViewer (plus WristViewer.app on macOS).
.PHONY: installer
installer: $(STAMP)
	$(VENV)/bin/python -m pip install --quiet -e '.[freeze]'
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath build/dist \
		--workpath build/pyinstaller installer/wristviewer.spec
	@du -sh build/dist/WristViewer
